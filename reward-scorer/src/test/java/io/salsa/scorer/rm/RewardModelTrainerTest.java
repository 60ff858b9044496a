package io.salsa.scorer.rm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.Scalars;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.model.train.NonFinitePolicy;
import io.salsa.model.train.SupervisedTrainer;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RewardModelTrainerTest {

    @TempDir
    static Path dir;
    static List<PreferencePair> pairs;
    static GptConfig tiny;

    @BeforeAll
    static void builtInTask() throws Exception {
        TaskDataset task = TaskDataset.generate(new TaskConfig(11, 24, 0.15, 0.1, 600, 2, 512));
        task.writeTo(dir);
        try (SalsaTokenizer tokenizer = SalsaTokenizer.load(dir)) {
            pairs = PreferenceData.readJsonl(dir.resolve("preferences.jsonl"), tokenizer);
            tiny = GptConfig.of(2, 2, 32, tokenizer.vocabSize(), 128, tokenizer.eosId(), tokenizer.padId());
        }
    }

    @Test
    void shouldRankHeldOutSimulatedRaterPairsClearlyAboveChance() {
        RmTrainConfig cfg = RmTrainConfig.defaults(3).withLr(3e-3, 16).withSteps(3, 90);
        RewardModelTrainer.Split split = RewardModelTrainer.split(pairs, 0.2, cfg.seed());
        try (GptModel model = GptModel.random(tiny, GptModel.Head.SCORE, 5, Device.cpu())) {
            RewardModelTrainer.Result r = RewardModelTrainer.train(model, split, cfg, System.out::println);
            System.out.println("tiny RM: " + r);
            assertTrue(r.after().strictPairs() >= 50, "enough held-out pairs to measure: " + r.after());
            assertTrue(r.after().accuracy() > 0.65, "held-out accuracy " + r.after().accuracy());
            assertTrue(r.after().loss() < r.before().loss(), "held-out loss went down");
        }
    }

    @Test
    void shouldHoldOutWholePromptsDeterministically() {
        RewardModelTrainer.Split a = RewardModelTrainer.split(pairs, 0.2, 9);
        RewardModelTrainer.Split b = RewardModelTrainer.split(pairs, 0.2, 9);
        assertEquals(a, b);
        assertEquals(pairs.size(), a.train().size() + a.heldOut().size());
        Set<String> trainPrompts = new HashSet<>();
        a.train().forEach(p -> trainPrompts.add(p.group()));
        assertTrue(a.heldOut().stream().noneMatch(p -> trainPrompts.contains(p.group())),
                "no held-out prompt is in the training set");
    }

    @Test
    void shouldHoldOutTheSamePromptsFromAPromptListWhicheverOfThemHavePairs() {
        List<String> asked = pairs.stream().map(PreferencePair::group).distinct().toList();
        RewardModelTrainer.Split all = RewardModelTrainer.split(pairs, asked, 0.2, 9);
        Set<String> heldOut = new HashSet<>();
        all.heldOut().forEach(p -> heldOut.add(p.group()));
        assertTrue(!heldOut.isEmpty() && heldOut.size() < asked.size(), "some but not all prompts held out");
        // a rater left one prompt unrated (the first trained one): the held-out prompts stay the same
        String unrated = all.train().get(0).group();
        List<PreferencePair> fewer = pairs.stream().filter(p -> !p.group().equals(unrated)).toList();
        RewardModelTrainer.Split less = RewardModelTrainer.split(fewer, asked, 0.2, 9);
        assertEquals(all.heldOut(), less.heldOut());
        // the list's order does not matter
        List<String> askedReversed = new ArrayList<>(asked);
        java.util.Collections.reverse(askedReversed);
        Set<String> fromReversedList = new HashSet<>();
        RewardModelTrainer.split(pairs, askedReversed, 0.2, 9).heldOut().forEach(p -> fromReversedList.add(p.group()));
        assertEquals(heldOut, fromReversedList);
    }

    /** An ensemble's held-out evaluation ranks each pair by the mean of the members' scores. */
    @Test
    void shouldEvaluateAnEnsembleOnTheMeanOfItsMembersScores() {
        List<PreferencePair> heldOut = RewardModelTrainer.split(pairs, 0.2, 9).heldOut();
        try (GptModel a = GptModel.random(tiny, GptModel.Head.SCORE, 5, Device.cpu());
             GptModel b = GptModel.random(tiny, GptModel.Head.SCORE, 6, Device.cpu())) {
            assertEquals(RewardModelTrainer.evaluate(a, heldOut, 16),
                    RewardModelTrainer.evaluate(List.of(a), heldOut, 7), "one member is the model itself, any batch");
            double right = 0;
            int strict = 0;
            for (PreferencePair p : heldOut) {
                if (p.tie()) {
                    continue;
                }
                float[] sa = score(a, p.chosen(), p.rejected());
                float[] sb = score(b, p.chosen(), p.rejected());
                float chosen = (float) ((sa[0] + (double) sb[0]) / 2);
                float rejected = (float) ((sa[1] + (double) sb[1]) / 2);
                strict++;
                right += chosen > rejected ? 1 : chosen == rejected ? 0.5 : 0;
            }
            RewardModelTrainer.Evaluation e = RewardModelTrainer.evaluate(List.of(a, b), heldOut, 16);
            assertEquals(strict, e.strictPairs());
            assertEquals((double) right / strict, e.accuracy(), 1e-9);
        }
    }

    private static float[] score(CausalLm model, int[]... sequences) {
        io.salsa.scorer.RewardSequences.Batch b = io.salsa.scorer.RewardSequences.pad(List.of(sequences), model);
        try (NDManager scope = model.newScope()) {
            return model.scores(scope.create(b.ids()), scope.create(b.mask())).toFloatArray();
        }
    }

    @Test
    void shouldGiveIdenticalWeightsForTheSameSeed() {
        RmTrainConfig cfg = RmTrainConfig.defaults(4).withLr(1e-3, 8).withSteps(1, 4);
        RewardModelTrainer.Split split = RewardModelTrainer.split(pairs, 0.2, cfg.seed());
        float[][] weights = new float[2][];
        for (int run = 0; run < 2; run++) {
            try (GptModel model = GptModel.random(tiny, GptModel.Head.SCORE, 5, Device.cpu())) {
                RewardModelTrainer.train(model, split, cfg, line -> { });
                weights[run] = model.weights(GptModel.SCORE_WEIGHT);
                float[] c = model.weights("transformer.h.0.attn.c_attn.weight");
                weights[run] = concat(weights[run], c);
            }
        }
        assertArrayEquals(weights[0], weights[1]);
    }

    @Test
    void shouldTrainInTheSharedLoopAndSkipANonFiniteStepWithoutTouchingTheWeights() {
        RmTrainConfig cfg = RmTrainConfig.defaults(4).withLr(1e-3, 8).withSteps(1, 4);
        RewardModelTrainer.Split split = RewardModelTrainer.split(pairs, 0.2, cfg.seed());
        List<float[]> viaTrainer;
        try (GptModel model = GptModel.random(tiny, GptModel.Head.SCORE, 5, Device.cpu())) {
            RewardModelTrainer.Result r = RewardModelTrainer.train(model, split, cfg, line -> { });
            assertEquals(0, r.skipped());
            viaTrainer = allWeights(model);
        }
        try (GptModel model = GptModel.random(tiny, GptModel.Head.SCORE, 5, Device.cpu())) {
            try (SupervisedTrainer<PreferencePair> trainer = new SupervisedTrainer<>(model, RewardModelTrainer.objective(),
                    RewardModelTrainer.settings(cfg), RewardModelTrainer.PROGRESS, line -> { })) {
                trainer.train(split.train());
            }
            List<float[]> viaLoop = allWeights(model);
            for (int i = 0; i < viaTrainer.size(); i++) {
                assertArrayEquals(viaTrainer.get(i), viaLoop.get(i), 0f, "RewardModelTrainer is the shared loop");
            }
        }

        // a NaN loss at the second step: skipped and counted, the run goes on with finite weights
        List<String> log = new ArrayList<>();
        try (GptModel model = GptModel.random(tiny, GptModel.Head.SCORE, 5, Device.cpu());
             SupervisedTrainer<PreferencePair> trainer = new SupervisedTrainer<>(model,
                     nanAt(RewardModelTrainer.objective(), Set.of(2)), RewardModelTrainer.settings(cfg),
                     RewardModelTrainer.PROGRESS, log::add)) {
            List<PreferencePair> batch = split.train().subList(0, 8);
            assertTrue(trainer.step(batch, 1e-3).taken());
            List<float[]> before = allWeights(model);
            assertFalse(trainer.step(batch, 1e-3).taken());
            List<float[]> after = allWeights(model);
            for (int i = 0; i < before.size(); i++) {
                assertArrayEquals(before.get(i), after.get(i), 0f, "parameter " + i + " after the skipped step");
            }
            assertEquals(1, trainer.optimizer().steps());
            assertEquals(1, trainer.nonFinite().skippedSteps());
            assertTrue(log.contains("step 2: loss NaN, gradient norm NaN: step skipped (1 so far)"), log.toString());
        }

        // NaN every step: halted after three in a row, with the message the commands print
        try (GptModel model = GptModel.random(tiny, GptModel.Head.SCORE, 5, Device.cpu());
             SupervisedTrainer<PreferencePair> trainer = new SupervisedTrainer<>(model,
                     nanAt(RewardModelTrainer.objective(), Set.of(1, 2, 3, 4)), RewardModelTrainer.settings(cfg),
                     RewardModelTrainer.PROGRESS, line -> { })) {
            NonFinitePolicy.NonFiniteTrainingException e = assertThrows(
                    NonFinitePolicy.NonFiniteTrainingException.class, () -> trainer.train(split.train()));
            assertTrue(e.getMessage().startsWith("training halted at step 3: 3 steps in a row had a non-finite loss"),
                    e.getMessage());
        }
    }

    /** The objective with a NaN loss at the calls numbered in {@code poisoned} (1-based). */
    private static SupervisedTrainer.Objective<PreferencePair> nanAt(SupervisedTrainer.Objective<PreferencePair> inner,
                                                                     Set<Integer> poisoned) {
        int[] calls = {0};
        return new SupervisedTrainer.Objective<>() {
            @Override
            public NDArray loss(CausalLm model, NDManager scope, List<PreferencePair> batch) {
                NDArray loss = inner.loss(model, scope, batch);
                return poisoned.contains(++calls[0]) ? loss.mul(Scalars.of(loss, Float.NaN)) : loss;
            }

            @Override
            public long units(List<PreferencePair> batch) {
                return inner.units(batch);
            }
        };
    }

    private static List<float[]> allWeights(GptModel model) {
        List<float[]> all = new ArrayList<>();
        for (String name : model.parameters().keySet()) {
            all.add(model.weights(name));
        }
        return all;
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
