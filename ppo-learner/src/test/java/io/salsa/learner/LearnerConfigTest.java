package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.Device;
import io.salsa.learner.ppo.PpoConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The typed config: its builder, and a device that survives the settings round trip a checkpoint makes. */
class LearnerConfigTest {

    @Test
    void theBuilderMakesTheConfigTheSettingsDescribe() {
        LearnerConfig fromSettings = LearnerConfig.fromMap(Map.of("run_id", "r", "soup_recipe", "s",
                "save_steps", "1", "seed", "7", "metrics_port", "0", "eval_steps", "3", "batch_size", "16",
                "mini_batch_size", "8", "learning_rate", "1e-4", "max_staleness", "2"));
        LearnerConfig built = LearnerConfig.builder("r", "s").saveSteps(1).seed(7).metricsPort(0).evalSteps(3)
                .ppo(PpoConfig.builder().batchSize(16).miniBatchSize(8).learningRate(1e-4).maxStaleness(2).build())
                .build();
        assertEquals(fromSettings, built);
        assertEquals(fromSettings.toMap(), built.toMap());
    }

    @Test
    void aGpuKeepsItsIndexThroughTheRecordedSettings() {
        LearnerConfig gpu1 = LearnerConfig.builder("r", "s").device(Device.gpu(1)).build();
        assertEquals("gpu1", gpu1.toMap().get("device"));
        assertEquals(gpu1, LearnerConfig.fromMap(gpu1.toMap()));
        // GPU 0 and the CPU keep the names runs have always recorded
        assertEquals("gpu", LearnerConfig.builder("r", "s").device(Device.gpu()).build().toMap().get("device"));
        assertEquals("cpu", LearnerConfig.builder("r", "s").build().toMap().get("device"));
        assertEquals(Device.cpu(), LearnerConfig.fromMap(Map.of("run_id", "r", "soup_recipe", "s")).device());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LearnerConfig.fromMap(Map.of("run_id", "r", "soup_recipe", "s", "device", "tpu")));
        assertEquals("device must be cpu, gpu or gpu<N> (got 'tpu')", e.getMessage());
    }

    @Test
    void wholePromptGroupsAreOnForTheCriticFreeAlgorithmsAndMustFillABatchExactly() {
        Map<String, String> base = Map.of("run_id", "r", "soup_recipe", "s", "batch_size", "8", "mini_batch_size",
                "4");
        assertEquals(false, LearnerConfig.fromMap(base).groupBatching().enabled());
        java.util.Map<String, String> grpo = new java.util.HashMap<>(base);
        grpo.put("algorithm", "grpo");
        grpo.put("group_size", "4");
        LearnerConfig c = LearnerConfig.fromMap(grpo);
        assertEquals(new GroupBatching(true, 4, 30.0), c.groupBatching());
        assertEquals(c, LearnerConfig.fromMap(c.toMap()), "a checkpoint's recorded settings give the same config");
        grpo.put("group_size", "3");
        assertEquals("batch_size (8) must be a multiple of group_size (3) when group_batches is on, so a step holds "
                + "whole prompt groups", assertThrows(IllegalArgumentException.class,
                        () -> LearnerConfig.fromMap(grpo)).getMessage());
        grpo.put("group_batches", "false");
        assertEquals(1, LearnerConfig.fromMap(grpo).groupBatching().assemblySize());
        grpo.put("group_batches", "maybe");
        assertEquals("group_batches must be true or false (got 'maybe')",
                assertThrows(IllegalArgumentException.class, () -> LearnerConfig.fromMap(grpo)).getMessage());
    }
}
