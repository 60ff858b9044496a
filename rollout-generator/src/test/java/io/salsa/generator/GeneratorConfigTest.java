package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.model.lm.Precision;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GeneratorConfigTest {

    @TempDir
    Path state;

    private Map<String, String> env(String... kv) {
        Map<String, String> env = new HashMap<>();
        env.put("SALSA_GENERATOR_STATE_DIR", state.toString());
        for (int i = 0; i < kv.length; i += 2) {
            env.put(kv[i], kv[i + 1]);
        }
        return env;
    }

    @Test
    void shouldHaveWorkingDefaults() {
        GeneratorConfig c = GeneratorConfig.fromEnv(env());
        assertEquals(4, c.samplesPerPrompt());
        assertEquals(8, c.batchSize());
        assertEquals(1, c.maxStaleness());
        assertEquals(new GeneratorConfig.Soup("default"), c.initialWeights());
        assertEquals(GeneratorConfig.Device.CPU, c.device());
        assertEquals(Precision.FP32, c.precision());
        assertNull(c.policyRunId());
        assertEquals(2, c.lagSources().size());
        assertEquals("scored-rollouts", c.lagSources().get(1).topic());
    }

    @Test
    void shouldKeepTheGeneratorIdStableAcrossRestartsOfOneInstance(@TempDir Path other) {
        String first = GeneratorConfig.fromEnv(env()).generatorId();
        assertEquals(first, GeneratorConfig.fromEnv(env()).generatorId());
        String elsewhere = GeneratorConfig.fromEnv(Map.of("SALSA_GENERATOR_STATE_DIR", other.toString())).generatorId();
        assertNotEquals(first, elsewhere, "another state folder is another instance");
        assertEquals("gen-7", GeneratorConfig.fromEnv(env("SALSA_GENERATOR_ID", "gen-7")).generatorId());
    }

    @Test
    void shouldParseEverySetting() {
        GeneratorConfig c = GeneratorConfig.fromEnv(env(
                "SALSA_GENERATOR_SAMPLES_PER_PROMPT", "2", "SALSA_GENERATOR_BATCH_SIZE", "32",
                "SALSA_GENERATOR_TEMPERATURE", "0.7", "SALSA_GENERATOR_TOP_K", "40", "SALSA_GENERATOR_TOP_P", "0.9",
                "SALSA_GENERATOR_MAX_NEW_TOKENS", "20", "SALSA_GENERATOR_SEED", "42",
                "SALSA_GENERATOR_MAX_STALENESS", "-1", "SALSA_GENERATOR_MAX_UNCONSUMED_ROLLOUTS", "500",
                "SALSA_GENERATOR_LAG_SOURCES", "scored-rollouts@learner-a", "SALSA_GENERATOR_POLICY_RUN_ID", "run-9",
                "SALSA_GENERATOR_INITIAL_WEIGHTS", "/models/sft-1", "SALSA_GENERATOR_DEVICE", "GPU",
                "SALSA_GENERATOR_PRECISION", "fp16"));
        assertEquals(new SamplingParams(0.7f, 40, 0.9f, 20), c.sampling());
        assertEquals(42, c.seed());
        assertEquals(new StalenessGate(-1, 500), c.gate());
        assertEquals(1, c.lagSources().size());
        assertEquals("learner-a", c.lagSources().get(0).group());
        assertEquals("run-9", c.stampRunId());
        assertEquals(Path.of("/models/sft-1"), assertInstanceOf(GeneratorConfig.Folder.class, c.initialWeights()).dir());
        assertEquals(GeneratorConfig.Device.GPU, c.device());
        assertEquals(Precision.FP16, c.precision());
        assertEquals(new GeneratorConfig.Soup("sft-pair"), GeneratorConfig.InitialWeights.parse("soup:sft-pair"));
    }

    @Test
    void shouldNameTheSettingAndRangeOfABadValue() {
        assertMessage("SALSA_GENERATOR_BATCH_SIZE", env("SALSA_GENERATOR_BATCH_SIZE", "many"));
        assertMessage("batch_size must be in [1, 4096]", env("SALSA_GENERATOR_BATCH_SIZE", "0"));
        assertMessage("samples_per_prompt (n) must be in [1, 1024]", env("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "0"));
        assertMessage("temperature must be a finite number > 0", env("SALSA_GENERATOR_TEMPERATURE", "0"));
        assertMessage("top_p must be in (0, 1]", env("SALSA_GENERATOR_TOP_P", "1.5"));
        assertMessage("max_staleness must be >= 0", env("SALSA_GENERATOR_MAX_STALENESS", "-3"));
        assertMessage("topic@consumer-group", env("SALSA_GENERATOR_LAG_SOURCES", "scored-rollouts"));
        assertMessage("not a catalog topic", env("SALSA_GENERATOR_LAG_SOURCES", "nope@g"));
        assertMessage("SALSA_GENERATOR_DEVICE", env("SALSA_GENERATOR_DEVICE", "tpu"));
        assertMessage("SALSA_GENERATOR_PRECISION='bf16' is invalid: expected no or fp16", env("SALSA_GENERATOR_PRECISION",
                "bf16"));
        assertMessage("generator_id must be", env("SALSA_GENERATOR_ID", "has space"));
    }

    private static void assertMessage(String expected, Map<String, String> env) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GeneratorConfig.fromEnv(env));
        assertTrue(e.getMessage().contains(expected), "'" + e.getMessage() + "' should contain '" + expected + "'");
    }
}
