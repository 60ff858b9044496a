package io.salsa.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.salsa.testkit.Captured;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ScoreCommandTest {

    /** Exit code and stderr of {@code salsa score args}. */
    private static String[] run(String... args) throws Exception {
        Captured<Integer> r = Captured.of(() -> new CommandLine(new ScoreCommand()).execute(args));
        return new String[] {Integer.toString(r.value()), r.err().strip()};
    }

    @Test
    void shouldHandEachFlagToItsSettingAndNameBothOnBadInput() throws Exception {
        String[] badBatch = run("--bootstrap", "127.0.0.1:9092", "--batch-size", "0");
        assertEquals("2", badBatch[0]);
        assertEquals("salsa score: --batch-size (" + ScorerConfig.BATCH_SIZE_ENV + ") must be 1-1024, got 0",
                badBatch[1]);

        String[] badWait = run("--bootstrap", "127.0.0.1:9092", "--batch-max-wait-ms", "0");
        assertEquals("2", badWait[0]);
        assertEquals("salsa score: --batch-max-wait-ms (" + ScorerConfig.BATCH_WAIT_ENV + ") must be 1-60000 ms, "
                + "got 0", badWait[1]);
    }
}
