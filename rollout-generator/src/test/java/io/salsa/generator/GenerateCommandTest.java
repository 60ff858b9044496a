package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import io.salsa.testkit.Captured;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class GenerateCommandTest {

    /** Exit code and stderr of {@code salsa generate args}. */
    private static String[] run(String... args) throws Exception {
        Captured<Integer> r = Captured.of(() -> new CommandLine(new GenerateCommand()).execute(args));
        return new String[] {Integer.toString(r.value()), r.err().strip()};
    }

    @Test
    void shouldHandEachFlagToItsSettingAndRefuseBadOnesWithExit2(@TempDir Path tmp) throws Exception {
        String[] badTemperature = run("--bootstrap", "127.0.0.1:9092", "--temperature", "warm");
        assertEquals("2", badTemperature[0]);
        assertTrue(badTemperature[1].startsWith("salsa generate: ") && badTemperature[1].contains(
                "SALSA_GENERATOR_TEMPERATURE") && badTemperature[1].contains("warm"), badTemperature[1]);

        Path notAModel = tmp.resolve("empty");
        String[] badWeights = run("--bootstrap", "127.0.0.1:9092", "--initial-weights", notAModel.toString());
        assertEquals("2", badWeights[0]);
        assertEquals("salsa generate: SALSA_GENERATOR_INITIAL_WEIGHTS: " + notAModel
                + " is not a model folder (no config.json)", badWeights[1]);
    }
}
