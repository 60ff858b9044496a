package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import io.salsa.testkit.Captured;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class GenerateCommandTest {

    private static Captured<Integer> run(String... args) throws Exception {
        return Captured.of(() -> new CommandLine(new GenerateCommand()).execute(args));
    }

    @Test
    void shouldHandEachFlagToItsSettingAndRefuseBadOnesWithExit2(@TempDir Path tmp) throws Exception {
        Captured<Integer> badTemperature = run("--bootstrap", "127.0.0.1:9092", "--temperature", "warm");
        assertEquals(2, badTemperature.value());
        assertTrue(badTemperature.err().strip().startsWith("salsa generate: ") && badTemperature.err().strip().contains(
                "SALSA_GENERATOR_TEMPERATURE") && badTemperature.err().strip().contains("warm"), badTemperature.err().strip());

        Captured<Integer> badPrecision = run("--bootstrap", "127.0.0.1:9092", "--precision", "bf16");
        assertEquals(2, badPrecision.value());
        assertTrue(badPrecision.err().contains("SALSA_GENERATOR_PRECISION='bf16' is invalid: expected no or fp16"),
                badPrecision.err());

        Path notAModel = tmp.resolve("empty");
        Captured<Integer> badWeights = run("--bootstrap", "127.0.0.1:9092", "--initial-weights", notAModel.toString());
        assertEquals(2, badWeights.value());
        assertEquals("salsa generate: SALSA_GENERATOR_INITIAL_WEIGHTS: " + notAModel
                + " is not a model folder (no config.json)", badWeights.err().strip());

        Captured<Integer> badThreads = run("--bootstrap", "127.0.0.1:9092", "--threads", "two");
        assertEquals(2, badThreads.value());
        assertEquals("salsa generate: SALSA_GENERATOR_THREADS (--threads) must be a whole number, got \"two\"",
                badThreads.err().strip());
        Captured<Integer> zeroThreads = run("--bootstrap", "127.0.0.1:9092", "--threads", "0");
        assertEquals(2, zeroThreads.value());
        assertTrue(zeroThreads.err().contains("--threads must be in [1, 1024], got 0"), zeroThreads.err());
    }
}
