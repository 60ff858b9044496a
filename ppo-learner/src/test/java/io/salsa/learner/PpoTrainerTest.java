package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.BatchManifest;
import io.salsa.events.BlobRef;
import io.salsa.events.OffsetRange;
import io.salsa.learner.ppo.GradScaler;
import io.salsa.learner.ppo.KlController;
import io.salsa.learner.ppo.KlHackGuard;
import io.salsa.learner.ppo.PpoConfig;
import io.salsa.learner.ppo.PpoStep;
import io.salsa.learner.ppo.TrainingSample;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The transport-free step controller against a scripted policy: no Kafka, no model. */
class PpoTrainerTest {

    private static final BlobRef SOUP_BLOB = new BlobRef("file:///soup", "00", 1L);
    private static final int BATCH = 4;

    /** A policy whose steps return scripted results and record what they were asked. */
    private static final class ScriptedPolicy implements PolicyTrainer {
        final Deque<Supplier<PpoStep.Result>> results = new ArrayDeque<>();
        final List<double[]> calls = new ArrayList<>();
        boolean closed;

        ScriptedPolicy then(double kl, double policyLoss, double score, double length) {
            return then(kl, policyLoss, score, length, 0);
        }

        /** A step that skipped {@code skipped} optimiser steps for a non-finite gradient. */
        ScriptedPolicy then(double kl, double policyLoss, double score, double length, int skipped) {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("objective/kl", kl);
            m.put("objective/scores", score);
            m.put("loss/policy_avg", policyLoss);
            m.put("loss/value_avg", skipped > 0 && Double.isNaN(policyLoss) ? Double.NaN : 0.5);
            PpoStep.Result r = new PpoStep.Result(m, kl, score, length, skipped);
            results.add(() -> r);
            return this;
        }

        /** A step whose optimiser gives up: the run of non-finite gradients reached its limit. */
        ScriptedPolicy thenHalt(int max) {
            results.add(() -> {
                throw new GradScaler.NonFiniteGradientsException(max, max, 0.01);
            });
            return this;
        }

        @Override
        public PpoStep.Result step(List<TrainingSample> batch, double klCoef, long seed) {
            calls.add(new double[] {klCoef, seed});
            return results.removeFirst().get();
        }

        @Override
        public PreparedReference prepareReference(Path modelFolder) {
            throw new UnsupportedOperationException("not used by these tests");
        }

        @Override
        public void swapReference(PreparedReference reference) {
            reference.close();
        }

        @Override
        public int vocabSize() {
            return 64;
        }

        @Override
        public int maxLength() {
            return 64;
        }

        @Override
        public void savePolicy(Path folder) {
            throw new UnsupportedOperationException("not used by these tests");
        }

        @Override
        public void saveOptimizer(Path file) {
            throw new UnsupportedOperationException("not used by these tests");
        }

        @Override
        public void restore(Path policyFolder, Path optimizerFile) {
            throw new UnsupportedOperationException("not used by these tests");
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private static PpoConfig ppo(boolean adaptive) {
        return PpoConfig.builder().batchSize(BATCH).miniBatchSize(BATCH).initKlCoef(0.2).adapKlCtrl(adaptive)
                .target(6).horizon(100).build();
    }

    private static PpoTrainer trainer(ScriptedPolicy policy, PpoConfig ppo, KlHackGuard.Config guard, int saveSteps,
            PpoTrainer.HeldOutScorer heldOut) {
        PpoTrainer.Settings settings = new PpoTrainer.Settings("run-1", ppo, guard, saveSteps, step -> 1000 + step);
        LearnerState start = PpoTrainer.initialState(settings, new LearnerState.SoupRef("soup", 3, SOUP_BLOB),
                Map.of(), "soup:soup@3", SOUP_BLOB);
        return new PpoTrainer(settings, policy, start, heldOut);
    }

    private static TrainingBatch batch(long from) {
        List<TrainingSample> samples = new ArrayList<>();
        for (int i = 0; i < BATCH; i++) {
            samples.add(new TrainingSample(new int[] {1, 2}, new int[] {3, 4, 5}, new float[] {-1, -1, -1}, false, 1f));
        }
        return new TrainingBatch(samples, List.of(new OffsetRange("rollouts", 0, from, from + BATCH + 1)), BATCH + 1,
                1, 0);
    }

    @Test
    void aNonFiniteLossHaltsTheStepWithTheLearnersMessageAndLeavesTheStateAlone() throws Exception {
        ScriptedPolicy policy = new ScriptedPolicy().then(0.1, Double.NaN, 0.5, 3);
        try (PpoTrainer trainer = trainer(policy, ppo(true), KlHackGuard.Config.defaults(), 10, null)) {
            LearnerState before = trainer.state();
            PpoTrainer.NonFiniteStepException e = assertThrows(PpoTrainer.NonFiniteStepException.class,
                    () -> trainer.step(batch(0)));
            assertInstanceOf(IllegalStateException.class, e);
            assertEquals("run run-1 step 1: loss/policy_avg is NaN; the policy weights or gradients are not finite, "
                    + "nothing of this step was written", e.getMessage());
            assertEquals(1, e.step());
            assertSame(before, trainer.state());
        }
    }

    @Test
    void tooManyNonFiniteGradientsInARowHaltTheRunWithTheLearnersMessageAndLeaveTheStateAlone() throws Exception {
        ScriptedPolicy policy = new ScriptedPolicy().thenHalt(3);
        try (PpoTrainer trainer = trainer(policy, ppo(true), KlHackGuard.Config.defaults(), 10, null)) {
            LearnerState before = trainer.state();
            PpoTrainer.NonFiniteStepException e = assertThrows(PpoTrainer.NonFiniteStepException.class,
                    () -> trainer.step(batch(0)));
            assertEquals("run run-1 halted at step 1: 3 optimiser steps in a row had a non-finite (NaN or inf) "
                    + "gradient and were skipped (max_consecutive_skips=3); the weights and optimiser state are those "
                    + "from before them. The run will not recover by itself: lower learning_rate (now 0.01) or "
                    + "max_grad_norm, or look for extreme rewards; nothing of this step was written", e.getMessage());
            assertEquals(1, e.step());
            assertSame(before, trainer.state());
        }
    }

    @Test
    void skippedOptimiserStepsAreRecordedInTheManifestAndAFullySkippedStepStillCounts() throws Exception {
        // ppo(…) has 4 epochs of one mini-batch: 4 optimiser steps per PPO step
        assertEquals(4, ppo(false).optimizerStepsPerBatch());
        ScriptedPolicy policy = new ScriptedPolicy().then(0.5, 0.1, 0.7, 3, 1).then(0.5, Double.NaN, 0.7, 3, 4)
                .then(0.5, 0.1, 0.7, 3);
        try (PpoTrainer trainer = trainer(policy, ppo(false), KlHackGuard.Config.defaults(), 10, null)) {
            assertEquals(1, trainer.step(batch(0)).manifest().getSkippedNonFiniteSteps());
            // no optimiser step taken: no loss to average, but the step (its KL, its records) is recorded
            PpoTrainer.Outcome skipped = trainer.step(batch(5));
            assertEquals(4, skipped.manifest().getSkippedNonFiniteSteps());
            assertTrue(Double.isNaN(skipped.metrics().get("loss/policy_avg")));
            assertEquals(2, trainer.state().step());
            assertEquals(0, trainer.step(batch(10)).manifest().getSkippedNonFiniteSteps());
        }
    }

    @Test
    void aPartlySkippedStepWithANonFiniteLossStillHalts() throws Exception {
        // PpoStep leaves skipped mini-batches out of the averages: a NaN average with updates taken is a real fault
        ScriptedPolicy policy = new ScriptedPolicy().then(0.5, Double.NaN, 0.7, 3, 2);
        try (PpoTrainer trainer = trainer(policy, ppo(false), KlHackGuard.Config.defaults(), 10, null)) {
            assertThrows(PpoTrainer.NonFiniteStepException.class, () -> trainer.step(batch(0)));
            assertEquals(0, trainer.state().step());
        }
    }

    @Test
    void aReplayThatSkipsADifferentNumberOfOptimiserStepsHasDiverged() throws Exception {
        ScriptedPolicy policy = new ScriptedPolicy().then(0.5, 0.1, 0.7, 3);
        try (PpoTrainer trainer = trainer(policy, ppo(false), KlHackGuard.Config.defaults(), 1, null)) {
            LearnerState before = trainer.state();
            BatchManifest recorded = new BatchManifest("run-1", 1L, 1001L, batch(0).ranges(), 5, 1, "soup", 3L, 0L,
                    1L, 7L, 1, 0);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> trainer.replayStep(
                    new TrainingBatch(batch(0).samples(), batch(0).ranges(), 5, 1, 3), recorded));
            assertEquals("replay of run run-1 step 1 diverged: the original skipped 1 optimiser steps for a "
                    + "non-finite gradient, the replay 0", e.getMessage());
            assertSame(before, trainer.state());
        }
    }

    @Test
    void eachStepMovesTheKlControllerAsTrlDoesWithTheSeedOfItsStep() throws Exception {
        ScriptedPolicy policy = new ScriptedPolicy().then(3, 0.1, 0.5, 3).then(60, 0.1, 0.5, 3);
        try (PpoTrainer trainer = trainer(policy, ppo(true), KlHackGuard.Config.defaults(), 10, null)) {
            trainer.step(batch(0));
            KlController expected = new KlController.Adaptive(0.2, 6, 100).update(3, BATCH);
            assertEquals(expected, trainer.state().kl());
            trainer.step(batch(5));
            assertEquals(expected.update(60, BATCH), trainer.state().kl());
            // each step trains with the coefficient in force before it and the seed of its number
            assertEquals(0.2, policy.calls.get(0)[0], 0);
            assertEquals(expected.value(), policy.calls.get(1)[0], 0);
            assertEquals(1001, policy.calls.get(0)[1], 0);
            assertEquals(1002, policy.calls.get(1)[1], 0);
        }
    }

    @Test
    void theGuardRaisesBetaOnTopOfTheControllerUpdate() throws Exception {
        KlHackGuard.Config raise = new KlHackGuard.Config(KlHackGuard.Action.RAISE_BETA, 3, 0.5, 0.05, 4, 2.0);
        // a mean KL of -1 is below -0.05: the negative-KL detection fires
        ScriptedPolicy policy = new ScriptedPolicy().then(-1, 0.1, 0.5, 3);
        try (PpoTrainer trainer = trainer(policy, ppo(false), raise, 10, null)) {
            PpoTrainer.Outcome o = trainer.step(batch(0));
            assertEquals(List.of("negative_kl"), o.verdict().detections().stream().map(KlHackGuard.Detection::kind)
                    .toList());
            assertFalse(o.halt());
            assertEquals(new KlController.Fixed(0.4), trainer.state().kl());
        }
    }

    @Test
    void aStepProducesTheLearnersMetricsManifestAndCheckpointDecision() throws Exception {
        ScriptedPolicy policy = new ScriptedPolicy().then(0.5, 0.1, 0.7, 3).then(0.5, 0.1, 0.7, 3);
        PpoTrainer.HeldOutScorer heldOut = step -> step == 2 ? OptionalDouble.of(0.25) : OptionalDouble.empty();
        try (PpoTrainer trainer = trainer(policy, ppo(false), KlHackGuard.Config.defaults(), 2, heldOut)) {
            PpoTrainer.Outcome first = trainer.step(batch(0));
            assertFalse(first.checkpointDue());
            assertFalse(first.metrics().containsKey("eval/heldout_score"));
            PpoTrainer.Outcome second = trainer.step(new TrainingBatch(batch(5).samples(), batch(5).ranges(), 5, 1, 2));
            assertTrue(second.checkpointDue());
            BatchManifest m = second.manifest();
            assertEquals(List.of("run-1", 2L, 1002L, 5, 1, "soup", 3L, 0L, 1L), List.of(m.getRunId(), m.getStep(),
                    m.getSeed(), m.getRecordCount(), m.getDroppedStale(), m.getSoupRecipe(), m.getSoupVersion(),
                    m.getPolicyVersionBefore(), m.getPolicyVersionAfter()));
            assertEquals(batch(5).ranges(), m.getRanges());
            assertEquals(List.of("objective/kl", "objective/scores", "loss/policy_avg", "loss/value_avg",
                    "eval/heldout_score", "soup_version", "policy_version", "learner/records", "learner/dropped_stale",
                    "learner/dropped_groups", "learner/rejected", "time/train_step_s", "tokens_per_s"), List.copyOf(second.metrics().keySet()));
            assertEquals(0.25, second.metrics().get("eval/heldout_score"));
            assertEquals(3.0, second.metrics().get("soup_version"));
            assertEquals(2.0, second.metrics().get("learner/rejected"));
            // the state moved to after the step; the due checkpoint is the publisher's to record
            assertEquals(2, trainer.state().step());
            assertEquals(0, trainer.state().policyVersion());
            assertEquals(Map.of("rollouts:0", 10L), trainer.state().positions());
            assertSame(m, trainer.state().lastManifest());
            trainer.recordCheckpoint(new LearnerState.CheckpointRef(1, 2, SOUP_BLOB, "ff"));
            assertEquals(1, trainer.state().policyVersion());
            assertEquals(1, trainer.state().checkpoints().size());
        }
    }

    @Test
    void aReplayedStepTakesTheRecordedManifestAndVersion() throws Exception {
        ScriptedPolicy policy = new ScriptedPolicy().then(0.5, 0.1, 0.7, 3).then(0.5, 0.1, 0.7, 3);
        try (PpoTrainer trainer = trainer(policy, ppo(false), KlHackGuard.Config.defaults(), 1, null)) {
            BatchManifest recorded = new BatchManifest("run-1", 1L, 1001L, batch(0).ranges(), 5, 1, "soup", 3L, 0L,
                    1L, 7L, 0, 0);
            trainer.replayStep(new TrainingBatch(batch(0).samples(), batch(0).ranges(), 5, 1, 3), recorded);
            assertEquals(1, trainer.state().step());
            assertEquals(1, trainer.state().policyVersion());
            assertSame(recorded, trainer.state().lastManifest());
            // records a restart skips while catching up are not the live process's rejections
            assertEquals(0.0, trainer.step(batch(5)).metrics().get("learner/rejected"));
        }
    }

    @Test
    void trainStopsAtMaxStepsAtAGuardHaltOrWhenTheSourceHasNoBatch() throws Exception {
        ScriptedPolicy policy = new ScriptedPolicy().then(0.5, 0.1, 0.7, 3).then(0.5, 0.1, 0.7, 3);
        List<Long> seen = new ArrayList<>();
        try (PpoTrainer trainer = trainer(policy, ppo(false), KlHackGuard.Config.defaults(), 10, null)) {
            assertEquals(PpoTrainer.Stop.MAX_STEPS, trainer.train(s -> batch(0), 2, o -> seen.add(o.step())));
            assertEquals(List.of(1L, 2L), seen);
            assertEquals(PpoTrainer.Stop.REQUESTED, trainer.train(s -> null, 5, o -> seen.add(o.step())));
            assertEquals(List.of(1L, 2L), seen);
        }
        KlHackGuard.Config halt = new KlHackGuard.Config(KlHackGuard.Action.HALT, 3, 0.5, 0.05, 4, 2.0);
        ScriptedPolicy negative = new ScriptedPolicy().then(-1, 0.1, 0.7, 3);
        try (PpoTrainer trainer = trainer(negative, ppo(false), halt, 10, null)) {
            assertEquals(PpoTrainer.Stop.HALTED_BY_GUARD, trainer.train(s -> batch(0), 5, o -> { }));
            assertEquals(1, trainer.state().step());
        }
        assertTrue(negative.closed, "the trainer closes its policy");
    }

    @Test
    void theInitialStateHasTheConfiguredControllerAndTheSoupInItsHistory() {
        PpoTrainer.Settings settings = new PpoTrainer.Settings("r", ppo(true), KlHackGuard.Config.defaults(), 0,
                step -> step);
        LearnerState s = PpoTrainer.initialState(settings, new LearnerState.SoupRef("soup", 3, SOUP_BLOB), Map.of(),
                "soup:soup@3", SOUP_BLOB);
        assertEquals(new KlController.Adaptive(0.2, 6, 100), s.kl());
        assertEquals(Map.of(3L, SOUP_BLOB), s.soupHistory());
        assertEquals(0, s.step());
        assertNull(s.lastManifest());
        assertThrows(IllegalArgumentException.class, () -> new PpoTrainer.Settings("r", ppo(true),
                KlHackGuard.Config.defaults(), -1, step -> step));
    }
}
