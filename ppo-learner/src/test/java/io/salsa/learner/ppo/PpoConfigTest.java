package io.salsa.learner.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.model.lm.Precision;
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

    @Test
    void mixedPrecisionSettingsFollowTorchGradScalerDefaultsAndAreValidated() {
        PpoConfig d = PpoConfig.defaults();
        assertEquals(Precision.FP32, d.mixedPrecision());
        assertEquals(65536.0, d.lossScaleInit());
        assertEquals(2000, d.lossScaleGrowthInterval());
        assertEquals(2.0, d.lossScaleGrowthFactor());
        assertEquals(0.5, d.lossScaleBackoffFactor());
        PpoConfig fp16 = PpoConfig.fromMap(Map.of("mixed_precision", "FP16", "loss_scale_growth_interval", "100"));
        assertEquals(Precision.FP16, fp16.mixedPrecision());
        assertEquals("fp16", fp16.toMap().get("mixed_precision"));
        assertEquals(fp16, PpoConfig.fromMap(fp16.toMap()));
        assertTrue(error(Map.of("mixed_precision", "bf16")).startsWith("mixed_precision: cannot parse 'bf16' (expected no or fp16"));
        assertEquals("loss_scale_backoff_factor must be in (0, 1) (got 1.0)", error(Map.of("loss_scale_backoff_factor", "1")));
        assertEquals("loss_scale_growth_factor must be in (1, 1e6] (got 1.0)", error(Map.of("loss_scale_growth_factor", "1")));
        assertEquals("loss_scale_growth_interval must be >= 1 (got 0)", error(Map.of("loss_scale_growth_interval", "0")));
        assertEquals("loss_scale_init must be in [1e-30, 1e30] (got 0.0)", error(Map.of("loss_scale_init", "0")));
    }

    @Test
    void maxConsecutiveSkipsDefaultsToTheTrainingLibrarysAndIsValidated() {
        assertEquals(3, PpoConfig.defaults().maxConsecutiveSkips());
        PpoConfig c = PpoConfig.fromMap(Map.of("max_consecutive_skips", "5"));
        assertEquals(5, c.maxConsecutiveSkips());
        assertEquals(c, PpoConfig.fromMap(c.toMap()));
        assertEquals(2, PpoConfig.builder().maxConsecutiveSkips(2).build().maxConsecutiveSkips());
        assertEquals("max_consecutive_skips must be >= 1 (got 0)", error(Map.of("max_consecutive_skips", "0")));
        assertTrue(error(Map.of("max_consecutive_skips", "x")).startsWith("max_consecutive_skips: cannot parse 'x'"));
    }

    @Test
    void policyLossOptionsDefaultToTodaysLossAndAreValidated() {
        PpoConfig d = PpoConfig.defaults();
        assertEquals(0.2, d.clipLow());
        assertEquals(0.2, d.clipHigh());
        assertEquals(0.0, d.dualClip());
        assertEquals(LossAgg.TOKEN_MEAN, d.lossAgg());
        assertEquals("cliprange", d.toMap().get("cliprange_low"));
        // unset bounds follow cliprange
        PpoConfig narrow = PpoConfig.fromMap(Map.of("cliprange", "0.1"));
        assertEquals(0.1, narrow.clipLow());
        assertEquals(0.1, narrow.clipHigh());
        PpoConfig c = PpoConfig.fromMap(Map.of("cliprange_high", "0.28", "dual_clip", "3", "loss_agg", "SEQ_MEAN"));
        assertEquals(0.2, c.clipLow());
        assertEquals(0.28, c.clipHigh());
        assertEquals(3.0, c.dualClip());
        assertEquals(LossAgg.SEQ_MEAN, c.lossAgg());
        assertEquals(c, PpoConfig.fromMap(c.toMap()));
        assertEquals(c, c.toBuilder().build());
        assertEquals(0.3, PpoConfig.builder().cliprangeLow(0.3).build().clipLow());
        assertEquals("dual_clip must be 0 (off) or in (1, 1e6] (got 0.5)", error(Map.of("dual_clip", "0.5")));
        assertEquals("cliprange_low must be in (0, 1) or 'cliprange' (got 1.0)", error(Map.of("cliprange_low", "1")));
        assertTrue(error(Map.of("loss_agg", "sum")).contains("loss_agg must be token_mean or seq_mean"));
    }

    @Test
    void algorithmDefaultsToPpoAndParses() {
        assertEquals(Algorithm.PPO, PpoConfig.defaults().algorithm());
        PpoConfig grpo = PpoConfig.fromMap(Map.of("algorithm", "GRPO"));
        assertEquals(Algorithm.GRPO, grpo.algorithm());
        assertEquals("grpo", grpo.toMap().get("algorithm"));
        assertEquals(grpo, PpoConfig.fromMap(grpo.toMap()));
        assertEquals(Algorithm.RLOO, PpoConfig.builder().algorithm(Algorithm.RLOO).build().algorithm());
        assertTrue(error(Map.of("algorithm", "dpo")).contains("algorithm must be ppo, grpo or rloo (got 'dpo')"));
    }
}
