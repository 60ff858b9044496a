package io.salsa.learner.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class PpoConfigTest {

    private static String error(Map<String, String> settings) {
        return assertThrows(IllegalArgumentException.class, () -> PpoConfig.fromMap(settings)).getMessage();
    }

    @Test
    void defaultsRoundTripThroughTheirMap() {
        PpoConfig d = PpoConfig.defaults();
        assertEquals(d, PpoConfig.fromMap(d.toMap()));
        assertEquals(16, d.optimizerStepsPerBatch());
    }

    @Test
    void overridesUseTrlNames() {
        PpoConfig c = PpoConfig.fromMap(Map.of("batch_size", "8", "mini_batch_size", "4", "kl_estimator", "K3",
                "cliprange", "0.1", "whiten_rewards", "true"));
        assertEquals(8, c.batchSize());
        assertEquals(KlEstimator.K3, c.klEstimator());
        assertEquals(0.1, c.cliprange());
        assertTrue(c.whitenRewards());
    }

    @Test
    void badValuesNameTheSettingAndRange() {
        assertEquals("mini_batch_size must divide batch_size (got mini_batch_size=5, batch_size=8)",
                error(Map.of("batch_size", "8", "mini_batch_size", "5")));
        assertEquals("cliprange must be in (0, 1) (got 1.5)", error(Map.of("cliprange", "1.5")));
        assertEquals("gamma must be in [0.0, 1.0] (got 1.1)", error(Map.of("gamma", "1.1")));
        assertEquals("kl_estimator must be one of k1, k2, k3 (got 'k9')", error(Map.of("kl_estimator", "k9")));
        assertTrue(error(Map.of("ppo_epochs", "two")).startsWith("ppo_epochs: cannot parse 'two'"));
        assertTrue(error(Map.of("clip_range", "0.2")).startsWith("unknown PPO setting 'clip_range'"));
        assertEquals("max_staleness must be >= 0 (got -1)", error(Map.of("max_staleness", "-1")));
    }
}
