package io.salsa.learner.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.salsa.model.train.AdamW;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;

class PpoStepTest {

    private static final int TARGET = 3;
    private static final ToDoubleFunction<int[]> SHARE_OF_TARGET = r -> {
        int n = 0;
        for (int t : r) {
            n += t == TARGET ? 1 : 0;
        }
        return (double) n / r.length;
    };

    private static PpoConfig config() {
        return PpoConfig.fromMap(Map.of("batch_size", "16", "mini_batch_size", "8", "ppo_epochs", "2",
                "learning_rate", "0.03", "init_kl_coef", "0.02", "adap_kl_ctrl", "false"));
    }

    private record Run(List<Double> scores, List<Double> kls, float[] weights, Map<String, Double> lastMetrics,
            float[] valueHeadBefore, float[] valueHeadAfter) {}

    /** The batch of step {@code step}, sampled from the policy's current log-prob {@code table}. */
    @FunctionalInterface
    private interface Batches {
        List<TrainingSample> sample(BigramPolicy model, float[] table, SplittableRandom random, int step, int size);
    }

    /** {@code size} rollouts of random one-token prompts. */
    private static List<TrainingSample> ungrouped(BigramPolicy model, float[] table, SplittableRandom random, int step,
            int size) {
        List<TrainingSample> batch = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            batch.add(model.sample(table, new int[] {random.nextInt(8)}, 4, random, SHARE_OF_TARGET));
        }
        return batch;
    }

    /** {@code size / 4} prompts, 4 rollouts each, grouped by prompt. */
    private static List<TrainingSample> grouped(BigramPolicy model, float[] table, SplittableRandom random, int step,
            int size) {
        List<TrainingSample> batch = new ArrayList<>();
        for (int p = 0; p < size / 4; p++) {
            int prompt = random.nextInt(8);
            for (int k = 0; k < 4; k++) {
                TrainingSample x = model.sample(table, new int[] {prompt}, 4, random, SHARE_OF_TARGET);
                batch.add(new TrainingSample(x.queryTokens(), x.responseTokens(), x.behaviourLogprobs(),
                        x.stoppedAtEos(), x.score(), null, "p" + step + "-" + p));
            }
        }
        return batch;
    }

    private static Run train(int steps, long seed) {
        return train(steps, seed, config());
    }

    private static Run train(int steps, long seed, PpoConfig cfg) {
        return train(steps, seed, cfg, PpoStepTest::ungrouped);
    }

    /** {@code steps} steps of {@code algorithm} on grouped batches. */
    private static Run trainGrouped(Algorithm algorithm, int steps, long seed) {
        return train(steps, seed, config().toBuilder().algorithm(algorithm).build(), PpoStepTest::grouped);
    }

    private static Run train(int steps, long seed, PpoConfig cfg, Batches batches) {
        try (NDManager manager = NDManager.newBaseManager()) {
            BigramPolicy model = new BigramPolicy(manager, 8, 6, seed);
            float[] valueHead0 = model.valueHead.toFloatArray();
            try (AdamW adam = PpoStep.optimizer(model.parameters(), cfg)) {
                PpoStep step = new PpoStep(cfg, model, adam, manager);
                SplittableRandom random = new SplittableRandom(seed);
                List<Double> scores = new ArrayList<>();
                List<Double> kls = new ArrayList<>();
                Map<String, Double> last = null;
                for (int s = 0; s < steps; s++) {
                    List<TrainingSample> batch = batches.sample(model, model.logprobTable(), random, s, cfg.batchSize());
                    PpoStep.Result result = step.run(batch, 0.02, seed * 1000 + s);
                    scores.add(result.meanScore());
                    kls.add(result.meanKl());
                    last = result.metrics();
                }
                return new Run(scores, kls, model.unembed.toFloatArray(), last, valueHead0,
                        model.valueHead.toFloatArray());
            }
        }
    }

    /** The mean score of the last 5 of 30 steps is above the first 5's by more than 0.3. */
    private static void assertRewardRises(String what, Run run) {
        double first = run.scores().subList(0, 5).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double last = run.scores().subList(25, 30).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        assertTrue(last > first + 0.3, what + "reward should rise: first 5 steps " + first + ", last 5 steps " + last);
    }

    @Test
    void shouldRaiseTheRewardWhileKlStaysBounded() {
        Run run = train(30, 7);
        assertRewardRises("", run);
        double maxKl = run.kls().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        assertTrue(maxKl < 10, "sequence KL stays bounded, max " + maxKl);
        for (String name : List.of("objective/kl", "objective/scores", "objective/rlhf_reward", "policy/clipfrac_avg",
                "loss/policy_avg", "loss/value_avg", "val/ratio", "policy/entropy_avg", "response_length")) {
            assertTrue(Double.isFinite(run.lastMetrics().get(name)), name);
        }
        assertEquals(4.0, run.lastMetrics().get("response_length"), 1e-6);
    }

    @Test
    void sameSeedSameWeightsBitForBit() {
        assertArrayEquals(train(3, 11).weights(), train(3, 11).weights(), 0f);
    }

    @Test
    void explicitDefaultPolicyLossOptionsTrainBitForBitAsToday() {
        PpoConfig explicit = config().toBuilder().cliprangeLow(0.2).cliprangeHigh(0.2).dualClip(0)
                .lossAgg(LossAgg.TOKEN_MEAN).build();
        assertArrayEquals(train(3, 11).weights(), train(3, 11, explicit).weights(), 0f);
    }

    @Test
    void clipHigherDualClipAndSeqMeanStillRaiseTheReward() {
        PpoConfig options = config().toBuilder().cliprangeHigh(0.28).dualClip(3).lossAgg(LossAgg.SEQ_MEAN).build();
        assertRewardRises("", train(30, 7, options));
    }

    @Test
    void grpoAndRlooRaiseTheRewardWithoutAValueLoss() {
        for (Algorithm algorithm : List.of(Algorithm.GRPO, Algorithm.RLOO)) {
            Run run = trainGrouped(algorithm, 30, 7);
            assertRewardRises(algorithm + ": ", run);
            // no value loss: the value head gets zero gradients, and AdamW without weight decay leaves it
            assertArrayEquals(run.valueHeadBefore(), run.valueHeadAfter(), 0f, algorithm + ": value head trained");
            assertEquals(0.0, run.lastMetrics().get("loss/value_avg"), 0, algorithm.label());
            assertEquals(algorithm == Algorithm.GRPO, run.lastMetrics().containsKey("loss/kl_avg"), algorithm.label());
        }
    }

    @Test
    void grpoSameSeedSameWeightsBitForBit() {
        assertArrayEquals(trainGrouped(Algorithm.GRPO, 3, 11).weights(), trainGrouped(Algorithm.GRPO, 3, 11).weights(),
                0f);
    }

    @Test
    void theFirstEpochOfAnOnPolicyBatchHasRatioOne() {
        try (NDManager manager = NDManager.newBaseManager()) {
            PpoConfig cfg = PpoConfig.fromMap(Map.of("batch_size", "4", "mini_batch_size", "4", "ppo_epochs", "1"));
            BigramPolicy model = new BigramPolicy(manager, 8, 6, 3);
            SplittableRandom random = new SplittableRandom(3);
            List<TrainingSample> batch = new ArrayList<>();
            float[] table = model.logprobTable();
            for (int i = 0; i < 4; i++) {
                batch.add(model.sample(table, new int[] {1, 2}, 3, random, SHARE_OF_TARGET));
            }
            try (AdamW adam = PpoStep.optimizer(model.parameters(), cfg)) {
                PpoStep.Result r = new PpoStep(cfg, model, adam, manager).run(batch, 0.1, 1);
                // one mini-batch, one epoch: new log-probs equal old ones, nothing is clipped
                assertEquals(1.0, r.metrics().get("val/ratio"), 1e-6);
                assertEquals(0.0, r.metrics().get("policy/clipfrac_avg"), 0);
                // the reference is the initial policy and the behaviour log-probs are its own: KL 0, weights 1
                assertEquals(0.0, r.metrics().get("objective/kl"), 1e-5);
                assertEquals(1.0, r.metrics().get("val/is_weight_avg"), 1e-5);
            }
        }
    }

    private static List<TrainingSample> batch(BigramPolicy model, int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<TrainingSample> batch = new ArrayList<>();
        float[] table = model.logprobTable();
        for (int i = 0; i < n; i++) {
            batch.add(model.sample(table, new int[] {random.nextInt(8)}, 4, random, SHARE_OF_TARGET));
        }
        return batch;
    }

    @Test
    void aNonFiniteGradientSkipsOnlyItsOptimiserStepAndStaysOutOfTheAverages() {
        try (NDManager manager = NDManager.newBaseManager()) {
            PpoConfig cfg = config(); // 2 epochs × 2 mini-batches: 4 optimiser steps
            BigramPolicy model = new BigramPolicy(manager, 8, 6, 5);
            try (AdamW adam = PpoStep.optimizer(model.parameters(), cfg)) {
                PpoStep step = new PpoStep(cfg, model, adam, manager);
                int[] updates = {0};
                step.gradientHook(params -> {
                    if (++updates[0] == 2) {
                        params.get(0).getGradient().muli(Float.NaN);
                    }
                });
                PpoStep.Result r = step.run(batch(model, cfg.batchSize(), 5), 0.02, 9);
                assertEquals(1, r.skippedNonFinite());
                assertEquals(3, adam.steps(), "three of the four optimiser steps were taken");
                assertEquals(1.0, r.metrics().get("learner/non_finite_skip"));
                assertEquals(1.0, r.metrics().get("learner/skipped_non_finite_steps"));
                for (String name : List.of("loss/policy_avg", "loss/value_avg", "policy/clipfrac_avg",
                        "policy/approxkl_avg", "policy/entropy_avg", "val/ratio", "val/ratio_var",
                        "policy/grad_norm_avg")) {
                    assertTrue(Double.isFinite(r.metrics().get(name)), name);
                }
                for (float w : model.unembed.toFloatArray()) {
                    assertTrue(Float.isFinite(w), "no NaN reached the weights");
                }
                PpoStep.Result next = step.run(batch(model, cfg.batchSize(), 6), 0.02, 10);
                assertEquals(0, next.skippedNonFinite());
                assertEquals(0.0, next.metrics().get("learner/non_finite_skip"));
                assertEquals(1.0, next.metrics().get("learner/skipped_non_finite_steps"), "the run's total");
            }
        }
    }

    @Test
    void aStepWhoseEveryGradientIsNonFiniteLeavesWeightsAndOptimiserUntouched() {
        try (NDManager manager = NDManager.newBaseManager()) {
            PpoConfig cfg = config().toBuilder().maxConsecutiveSkips(5).build();
            BigramPolicy model = new BigramPolicy(manager, 8, 6, 5);
            try (AdamW adam = PpoStep.optimizer(model.parameters(), cfg)) {
                PpoStep step = new PpoStep(cfg, model, adam, manager);
                step.gradientHook(params -> params.get(0).getGradient().muli(Float.POSITIVE_INFINITY));
                float[] before = model.unembed.toFloatArray();
                PpoStep.Result r = step.run(batch(model, cfg.batchSize(), 5), 0.02, 9);
                assertEquals(4, r.skippedNonFinite());
                assertEquals(0, adam.steps());
                assertArrayEquals(before, model.unembed.toFloatArray(), 0f);
                assertTrue(Double.isNaN(r.metrics().get("loss/policy_avg")), "no optimiser step, no loss average");
                assertTrue(Double.isFinite(r.metrics().get("objective/kl")), "the KL is from before any update");
                // the fifth skip in a row (the first of the next step) halts
                assertThrows(GradScaler.NonFiniteGradientsException.class,
                        () -> step.run(batch(model, cfg.batchSize(), 6), 0.02, 10));
            }
        }
    }
}
