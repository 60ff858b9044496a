package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.salsa.learner.LearnerConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The demo's typed learner config is the one its documented settings describe (TRL names, as {@code salsa learn
 * --set} takes them), so its checkpoints record the same config as before and its runs resume and replay.
 */
class DemoLearnerConfigTest {

    @Test
    void theDemosLearnerConfigIsTheOneItsSettingsDescribe() {
        for (DemoProfile p : new DemoProfile[] {DemoProfile.quick(), DemoProfile.standard()}) {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("run_id", "demo");
            m.put("soup_recipe", "demo");
            m.put("init_from", "soup");
            m.put("save_steps", "1");
            m.put("max_steps", String.valueOf(p.ppoSteps()));
            m.put("seed", String.valueOf(p.taskSeed()));
            m.put("device", "cpu");
            m.put("metrics_port", "0");
            m.put("eval_steps", String.valueOf(Math.max(1, p.ppoSteps() / 10)));
            m.put("heldout_task_seed", String.valueOf(p.taskSeed()));
            m.put("heldout_entities", String.valueOf(p.entities()));
            m.put("heldout_count", String.valueOf(KafkaLoopStages.HELDOUT_CURVE_PROMPTS));
            m.put("batch_size", String.valueOf(p.ppoBatch()));
            m.put("mini_batch_size", String.valueOf(p.ppoBatch() / 2));
            m.put("learning_rate", "2e-5");
            m.put("init_kl_coef", "0.1");
            m.put("adap_kl_ctrl", "false");
            m.put("algorithm", "rloo");
            m.put("group_batches", "true");
            m.put("group_size", "4");
            m.put("group_wait_s", "30");
            m.put("max_staleness", "2");
            LearnerConfig config = KafkaLoopStages.learnerConfig(p);
            assertEquals(LearnerConfig.fromMap(m), config, p.name());
            assertEquals(LearnerConfig.fromMap(m).toMap(), config.toMap(), p.name());
        }
    }

    @Test
    void theDefaultStepsOn128RolloutsAndTheQuickOneOn16() {
        assertEquals(128, KafkaLoopStages.learnerConfig(DemoProfile.standard()).ppo().batchSize());
        assertEquals(16, KafkaLoopStages.learnerConfig(DemoProfile.quick()).ppo().batchSize());
        assertThrows(IllegalArgumentException.class, () -> new DemoProfile("odd", 7, 6, 2, 1, 1, 32, 20, 4, 12, 1),
                "a batch that is not two mini-batches of whole groups of 4");
    }

    @Test
    void anotherSeedMovesTheWorldTheHeldOutSetAndTheRunTogether() {
        DemoProfile p = DemoProfile.standard().withTaskSeed(11);
        assertEquals(DemoProfile.standard().withPpoSteps(p.ppoSteps()).preferences(), p.preferences());
        LearnerConfig config = KafkaLoopStages.learnerConfig(p);
        assertEquals(11, config.seed());
        assertEquals(11, config.heldoutTaskSeed(), "the held-out gold set is the eval split of the same world");
    }
}
