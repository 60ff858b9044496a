package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.events.BatchManifest;
import io.salsa.events.TrainingMetrics;
import io.salsa.model.lm.GptModel;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.schemas.KafkaSettings;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A float32 run whose second optimiser step gets a NaN gradient (injected through {@code PpoStep.GradientHook}):
 * the step is skipped with the weights untouched and recorded, and a replay reproduces every checkpoint.
 */
@ExtendWith(KafkaExtension.class)
class NonFiniteReplayTest {

    private static final String RUN = "nonfinite";
    private static final int BATCH = 4;
    private static final int STEPS = 3;

    /** GPT-2 trainers whose {@code poisoned}-th optimiser step (1-based, counted per trainer) sees a NaN gradient. */
    private static PpoLearner.TrainerFactory poisoning(int poisoned) {
        return (ppo, init, reference, device) -> {
            LmPolicyTrainer trainer = LmPolicyTrainer.open(ppo, init, reference, device);
            int[] updates = {0};
            trainer.gradientHook(parameters -> {
                if (++updates[0] == poisoned) {
                    // outside any GradientCollector: a Java-number operand is safe here
                    parameters.get(0).getGradient().muli(Float.NaN);
                }
            });
            return trainer;
        };
    }

    @Test
    void aSkippedNonFiniteStepKeepsTheWeightsIsRecordedAndReplaysBitForBit(TestKafka broker, @TempDir Path tmp)
            throws Exception {
        LearnerFixture.World world = LearnerFixture.world(broker, "nonfinite.", tmp, 7);
        KafkaSettings kafka = world.kafka();
        ModelFolderStore store = world.store();
        try (GptModel behaviour = GptModel.load(world.soupDir(), GptModel.Head.NONE, Device.cpu())) {
            LearnerFixture.writeRollouts(kafka, behaviour, RUN, 0, BATCH * STEPS, 13, LearnerFixture.PREFER_LOW);
        }
        Map<String, String> settings = LearnerFixture.settings(RUN, BATCH, BATCH, 1);
        settings.put("ppo_epochs", "1"); // one optimiser step per PPO step: step 2's is the poisoned one
        settings.put("max_steps", Integer.toString(STEPS));
        List<LearnerState.CheckpointRef> checkpoints;
        try (PpoLearner learner = PpoLearner.start(LearnerConfig.fromMap(settings), kafka, store, poisoning(2),
                () -> false)) {
            learner.run();
            assertEquals(PpoTrainer.Stop.MAX_STEPS, learner.stopReason(), "one skip is below max_consecutive_skips");
            checkpoints = learner.state().checkpoints();
        }

        List<BatchManifest> manifests = LearnerFixture.manifests(kafka, RUN);
        assertEquals(List.of(0, 1, 0), manifests.stream().map(BatchManifest::getSkippedNonFiniteSteps).toList());
        List<TrainingMetrics> metrics = LearnerFixture.metrics(kafka, RUN);
        assertEquals(List.of(0.0, 1.0, 0.0),
                metrics.stream().map(m -> m.getMetrics().get("learner/non_finite_skip")).toList());
        assertEquals(List.of(0.0, 1.0, 1.0),
                metrics.stream().map(m -> m.getMetrics().get("learner/skipped_non_finite_steps")).toList());
        // v0 and one checkpoint per step; the skipped step left the weights exactly as step 1 made them
        assertEquals(List.of(0L, 1L, 2L, 3L), checkpoints.stream().map(LearnerState.CheckpointRef::step).toList());
        assertEquals(checkpoints.get(1).weightsSha256(), checkpoints.get(2).weightsSha256());
        assertNotEquals(checkpoints.get(2).weightsSha256(), checkpoints.get(3).weightsSha256());
        assertNotEquals(checkpoints.get(0).weightsSha256(), checkpoints.get(1).weightsSha256());

        Replay.Report report = Replay.run(RUN, kafka, store, poisoning(2), Device.cpu());
        assertEquals(STEPS, report.steps());
        assertEquals(List.of(0L, 1L, 2L, 3L), report.checkpoints().stream().map(Replay.Checkpoint::step).toList());
        assertTrue(report.allIdentical(), "replayed weights differ: " + report.checkpoints());

        // a replay that does not meet the fault takes step 2's update: it says so instead of drifting silently
        IllegalStateException diverged = assertThrows(IllegalStateException.class,
                () -> Replay.run(RUN, kafka, store, LearnerFixture.gptFactory(), Device.cpu()));
        assertEquals("replay of run nonfinite step 2 diverged: the original skipped 1 optimiser steps for a "
                + "non-finite gradient, the replay 0", diverged.getMessage());
    }

    @Test
    void maxConsecutiveSkipsNonFiniteStepsInARowHaltTheLearner(TestKafka broker, @TempDir Path tmp)
            throws Exception {
        LearnerFixture.World world = LearnerFixture.world(broker, "nonfinite-halt.", tmp, 7);
        KafkaSettings kafka = world.kafka();
        ModelFolderStore store = world.store();
        try (GptModel behaviour = GptModel.load(world.soupDir(), GptModel.Head.NONE, Device.cpu())) {
            LearnerFixture.writeRollouts(kafka, behaviour, RUN, 0, BATCH * 3, 13, LearnerFixture.PREFER_LOW);
        }
        Map<String, String> settings = LearnerFixture.settings(RUN, BATCH, BATCH, 1);
        settings.put("ppo_epochs", "1");
        settings.put("max_consecutive_skips", "2");
        settings.put("max_steps", "3");
        PpoLearner.TrainerFactory alwaysNaN = (ppo, init, reference, device) -> {
            LmPolicyTrainer trainer = LmPolicyTrainer.open(ppo, init, reference, device);
            trainer.gradientHook(parameters -> parameters.get(0).getGradient().muli(Float.NaN));
            return trainer;
        };
        try (PpoLearner learner = PpoLearner.start(LearnerConfig.fromMap(settings), kafka, store, alwaysNaN,
                () -> false)) {
            PpoTrainer.NonFiniteStepException e = assertThrows(PpoTrainer.NonFiniteStepException.class, learner::run);
            assertEquals(2, e.step());
            assertTrue(e.getMessage().startsWith("run nonfinite halted at step 2: 2 optimiser steps in a row had a "
                    + "non-finite (NaN or inf) gradient and were skipped (max_consecutive_skips=2)"), e.getMessage());
            assertEquals(1, learner.state().step(), "the halted step is not recorded");
        }
        assertEquals(List.of(1), LearnerFixture.manifests(kafka, RUN).stream()
                .map(BatchManifest::getSkippedNonFiniteSteps).toList());
    }
}
