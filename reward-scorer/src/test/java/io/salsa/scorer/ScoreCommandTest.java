package io.salsa.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.testkit.Captured;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ScoreCommandTest {

    private static Captured<Integer> run(String... args) throws Exception {
        return Captured.of(() -> new CommandLine(new ScoreCommand()).execute(args));
    }

    @Test
    void shouldHandEachFlagToItsSettingAndNameBothOnBadInput() throws Exception {
        Captured<Integer> badBatch = run("--bootstrap", "127.0.0.1:9092", "--batch-size", "0");
        assertEquals(2, badBatch.value());
        assertEquals("salsa score: --batch-size (" + ScorerConfig.BATCH_SIZE_ENV + ") must be 1-1024, got 0",
                badBatch.err().strip());

        Captured<Integer> badWait = run("--bootstrap", "127.0.0.1:9092", "--batch-max-wait-ms", "0");
        assertEquals(2, badWait.value());
        assertEquals("salsa score: --batch-max-wait-ms (" + ScorerConfig.BATCH_WAIT_ENV + ") must be 1-60000 ms, "
                + "got 0", badWait.err().strip());

        Captured<Integer> badPrecision = run("--bootstrap", "127.0.0.1:9092", "--precision", "fp8",
                "--initial-model", "/nonexistent");
        assertEquals(2, badPrecision.value());
        assertTrue(badPrecision.err().contains("--precision (" + ScorerConfig.PRECISION_ENV + ")")
                && badPrecision.err().contains("no or fp16"), badPrecision.err());
    }
}
