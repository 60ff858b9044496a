package io.salsa.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.Scalars;
import io.salsa.model.tokenizer.SalsaTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shared supervised loop and its non-finite policy on the tiny SFT fixture: a NaN loss or a non-finite gradient
 * skips the step without touching weights or AdamW state and is counted; N skips in a row halt with a clear message;
 * SFT training is exactly this loop with the LM objective.
 */
class SupervisedTrainerTest {

    @TempDir
    Path tmp;
    private Path base;
    private List<SftData.Sequence> sequences;

    @BeforeEach
    void fixture() throws Exception {
        base = TinyFixtures.baseModel(tmp.resolve("base"));
        Path data = tmp.resolve("data.jsonl");
        Files.write(data, TinyFixtures.jsonl(24));
        try (SalsaTokenizer tok = SalsaTokenizer.load(base)) {
            sequences = SftData.encodeAll(tok, SftData.read(data), 32);
        }
    }

    private static SupervisedTrainer.Settings settings(int maxSteps, int maxConsecutiveSkips) {
        return new SupervisedTrainer.Settings(2, 5e-3, 4, 2, maxSteps, 1.0, 0.01, 7, maxConsecutiveSkips);
    }

    /** The LM objective, except that the calls numbered in {@code poisoned} (1-based) get a NaN loss. */
    private static SupervisedTrainer.Objective<SftData.Sequence> nanAt(int padId, Set<Integer> poisoned) {
        SupervisedTrainer.Objective<SftData.Sequence> lm = SftTrainer.objective(padId);
        int[] calls = {0};
        return new SupervisedTrainer.Objective<>() {
            @Override
            public NDArray loss(CausalLm model, NDManager scope, List<SftData.Sequence> batch) {
                NDArray loss = lm.loss(model, scope, batch);
                return poisoned.contains(++calls[0]) ? loss.mul(Scalars.of(loss, Float.NaN)) : loss;
            }

            @Override
            public long units(List<SftData.Sequence> batch) {
                return lm.units(batch);
            }
        };
    }

    private static Map<String, float[]> weights(GptModel model) {
        Map<String, float[]> w = new LinkedHashMap<>();
        for (String name : model.parameters().keySet()) {
            w.put(name, model.weights(name));
        }
        return w;
    }

    private static List<float[]> moments(AdamW opt) {
        List<float[]> out = new ArrayList<>();
        opt.firstMoments().forEach(a -> out.add(a.toFloatArray()));
        opt.secondMoments().forEach(a -> out.add(a.toFloatArray()));
        return out;
    }

    private static void assertSameWeights(Map<String, float[]> expected, Map<String, float[]> actual, String why) {
        for (String name : expected.keySet()) {
            assertArrayEquals(expected.get(name), actual.get(name), 0f, why + ": " + name);
        }
    }

    @Test
    void aNaNLossSkipsTheStepWithoutTouchingWeightsOrOptimizerStateAndIsCounted() throws Exception {
        List<String> log = new ArrayList<>();
        try (GptModel model = GptModel.load(base, GptModel.Head.NONE, Device.cpu());
             SupervisedTrainer<SftData.Sequence> trainer = new SupervisedTrainer<>(model,
                     nanAt(model.config().padTokenId(), Set.of(2)), settings(0, 3),
                     SupervisedTrainer.ProgressFormat.TOKENS, log::add)) {
            List<SftData.Sequence> batch = sequences.subList(0, 4);
            assertTrue(trainer.step(batch, 1e-3).taken());
            Map<String, float[]> weightsBefore = weights(model);
            List<float[]> momentsBefore = moments(trainer.optimizer());

            SupervisedTrainer.Step skipped = trainer.step(batch, 1e-3);
            assertFalse(skipped.taken());
            assertTrue(Double.isNaN(skipped.loss()));
            assertSameWeights(weightsBefore, weights(model), "weights after the skipped step");
            List<float[]> momentsAfter = moments(trainer.optimizer());
            for (int i = 0; i < momentsBefore.size(); i++) {
                assertArrayEquals(momentsBefore.get(i), momentsAfter.get(i), 0f, "AdamW moment " + i);
            }
            assertEquals(1, trainer.optimizer().steps(), "AdamW's step counter (its bias correction) did not move");
            for (NDArray p : trainer.optimizer().parameters()) {
                for (float g : p.getGradient().toFloatArray()) {
                    assertEquals(0f, g, 0f, "the NaN gradients are cleared, not carried into the next backward");
                }
            }
            assertEquals(1, trainer.nonFinite().skippedSteps());
            assertEquals(1, trainer.nonFinite().consecutiveSkips());
            assertEquals(List.of("step 2: loss NaN, gradient norm NaN: step skipped (1 so far)"), log);

            assertTrue(trainer.step(batch, 1e-3).taken(), "the next finite step is taken");
            assertEquals(0, trainer.nonFinite().consecutiveSkips());
            assertEquals(1, trainer.nonFinite().skippedSteps());
            assertEquals(2, trainer.optimizer().steps());
            assertTrue(weights(model).values().stream().allMatch(SupervisedTrainerTest::finite));
        }
    }

    @Test
    void aNonFiniteGradientWithAFiniteLossIsSkippedToo() throws Exception {
        try (GptModel model = GptModel.load(base, GptModel.Head.NONE, Device.cpu())) {
            SupervisedTrainer.Objective<SftData.Sequence> lm = SftTrainer.objective(model.config().padTokenId());
            SupervisedTrainer.Objective<SftData.Sequence> infiniteSlope = new SupervisedTrainer.Objective<>() {
                @Override
                public NDArray loss(CausalLm m, NDManager scope, List<SftData.Sequence> batch) {
                    // + sqrt(s − s) with s a sum of weights: adds 0 to the loss, but d sqrt(u)/du at 0 is infinite
                    NDArray w = m.parameters().get("transformer.ln_f.weight").getArray();
                    return lm.loss(m, scope, batch).add(w.sum().sub(w.sum()).sqrt());
                }

                @Override
                public long units(List<SftData.Sequence> batch) {
                    return lm.units(batch);
                }
            };
            Map<String, float[]> before = weights(model);
            try (SupervisedTrainer<SftData.Sequence> trainer = new SupervisedTrainer<>(model, infiniteSlope,
                    settings(0, 3), SupervisedTrainer.ProgressFormat.TOKENS, line -> { })) {
                SupervisedTrainer.Step s = trainer.step(sequences.subList(0, 4), 1e-3);
                assertTrue(Double.isFinite(s.loss()), "the loss is finite: " + s.loss());
                assertFalse(Double.isFinite(s.gradNorm()));
                assertFalse(s.taken());
                assertEquals(0, trainer.optimizer().steps());
            }
            assertSameWeights(before, weights(model), "weights after a non-finite gradient");
        }
    }

    @Test
    void consecutiveNonFiniteStepsHaltWithAClearMessage() throws Exception {
        List<String> log = new ArrayList<>();
        try (GptModel model = GptModel.load(base, GptModel.Head.NONE, Device.cpu())) {
            SupervisedTrainer.Settings s = settings(0, NonFinitePolicy.DEFAULT_MAX_CONSECUTIVE_SKIPS);
            // poisoned: step 2 alone (the run goes on), then 4, 5 and 6 in a row (the third halts it)
            NonFinitePolicy.NonFiniteTrainingException e;
            try (SupervisedTrainer<SftData.Sequence> trainer = new SupervisedTrainer<>(model,
                    nanAt(model.config().padTokenId(), Set.of(2, 4, 5, 6)), s, SupervisedTrainer.ProgressFormat.TOKENS,
                    log::add)) {
                e = assertThrows(NonFinitePolicy.NonFiniteTrainingException.class, () -> trainer.train(sequences));
                assertEquals(4, trainer.nonFinite().skippedSteps());
                assertEquals(2, trainer.optimizer().steps(), "steps 1 and 3 were taken");
            }
            assertEquals(3, NonFinitePolicy.DEFAULT_MAX_CONSECUTIVE_SKIPS);
            assertTrue(e.getMessage().contains("training halted at step 6: 3 steps in a row had a non-finite loss or "
                    + "gradient"), e.getMessage());
            assertTrue(e.getMessage().contains("lower the learning rate (--lr, now 0.005)"), e.getMessage());
            assertEquals(4, log.stream().filter(l -> l.contains("step skipped")).count(), String.join("\n", log));
            for (NDArray p : model.parameters().values().stream().map(ai.djl.nn.Parameter::getArray).toList()) {
                if (p.hasGradient()) {
                    for (float g : p.getGradient().toFloatArray()) {
                        assertEquals(0f, g, 0f, "no NaN gradient is left on the model");
                    }
                }
            }
            assertFalse(model.isTrainable(), "closing the trainer restores the model");
            assertTrue(weights(model).values().stream().allMatch(SupervisedTrainerTest::finite));
        }
    }

    @Test
    void theHaltingThresholdIsConfigurable() throws Exception {
        try (GptModel model = GptModel.load(base, GptModel.Head.NONE, Device.cpu());
             SupervisedTrainer<SftData.Sequence> trainer = new SupervisedTrainer<>(model,
                     nanAt(model.config().padTokenId(), Set.of(1, 2, 3, 4, 5)), settings(0, 3).withMaxConsecutiveSkips(5),
                     SupervisedTrainer.ProgressFormat.TOKENS, line -> { })) {
            NonFinitePolicy.NonFiniteTrainingException e = assertThrows(NonFinitePolicy.NonFiniteTrainingException.class,
                    () -> trainer.train(sequences));
            assertTrue(e.getMessage().contains("at step 5: 5 steps in a row"), e.getMessage());
            assertEquals(0, trainer.optimizer().steps());
        }
    }

    @Test
    void aRunWithASkippedStepFinishesOnScheduleAndCountsIt() throws Exception {
        List<String> log = new ArrayList<>();
        try (GptModel model = GptModel.load(base, GptModel.Head.NONE, Device.cpu());
             SupervisedTrainer<SftData.Sequence> trainer = new SupervisedTrainer<>(model,
                     nanAt(model.config().padTokenId(), Set.of(3)), settings(8, 3),
                     SupervisedTrainer.ProgressFormat.TOKENS, log::add)) {
            SupervisedTrainer.Result r = trainer.train(sequences);
            assertEquals(8, r.steps(), "a skipped step is still a step of the schedule");
            assertEquals(1, r.skipped());
            assertEquals(7, trainer.optimizer().steps());
            assertTrue(Double.isFinite(r.finalLoss()));
            assertTrue(weights(model).values().stream().allMatch(SupervisedTrainerTest::finite));
            assertTrue(log.stream().anyMatch(l -> l.startsWith("step 8/8  epoch 2  loss ") && l.contains(" tok/s  ETA ")),
                    String.join("\n", log));
        }
    }

    @Test
    void sftTrainingIsTheSharedLoopWithTheLmObjective() throws Exception {
        SftConfig cfg = new SftConfig(2, 5e-3, 4, 2, 8, 1.0, 0.01, 7);
        Map<String, float[]> viaSft;
        SftTrainer.Result sft;
        try (GptModel model = GptModel.load(base, GptModel.Head.NONE, Device.cpu())) {
            sft = SftTrainer.train(model, sequences, List.of(), cfg, line -> { });
            viaSft = weights(model);
        }
        try (GptModel model = GptModel.load(base, GptModel.Head.NONE, Device.cpu())) {
            SupervisedTrainer.Result r;
            try (SupervisedTrainer<SftData.Sequence> trainer = new SupervisedTrainer<>(model,
                    SftTrainer.objective(model.config().padTokenId()), cfg.settings(),
                    SupervisedTrainer.ProgressFormat.TOKENS, line -> { })) {
                r = trainer.train(sequences);
            }
            assertSameWeights(viaSft, weights(model), "SftTrainer vs the shared loop");
            assertEquals(sft.steps(), r.steps());
            assertEquals(sft.tokens(), r.units());
            assertEquals(sft.finalTrainLoss(), r.finalLoss());
            assertEquals(0, sft.skipped());
        }
    }

    /**
     * PyTorch's grad mode is per thread and DJL turns it off only where the engine loaded: a step on another thread
     * (a service's, an executor's) used to fail its in-place update ("a leaf Variable that requires grad is being
     * used in an in-place operation"). It trains there to the same weights, and leaves that thread's mode as it was.
     */
    @Test
    void trainsOnAThreadOtherThanTheEnginesToTheSameWeights() throws Exception {
        SftConfig cfg = new SftConfig(1, 5e-3, 4, 1, 3, 1.0, 0.01, 7);
        Map<String, float[]> here;
        try (GptModel model = GptModel.load(base, GptModel.Head.NONE, Device.cpu())) {
            SftTrainer.train(model, sequences, List.of(), cfg, line -> { });
            here = weights(model);
        }
        AtomicReference<Map<String, float[]>> there = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicBoolean gradModeAfter = new AtomicBoolean();
        Thread worker = new Thread(() -> {
            try (GptModel model = GptModel.load(base, GptModel.Head.NONE, Device.cpu())) {
                SftTrainer.train(model, sequences, List.of(), cfg, line -> { });
                there.set(weights(model));
                gradModeAfter.set(ai.djl.pytorch.jni.JniUtils.isGradMode());
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        worker.start();
        worker.join();
        if (failure.get() != null) {
            throw new AssertionError("training on a worker thread failed", failure.get());
        }
        assertSameWeights(here, there.get(), "the engine's thread vs a worker thread");
        assertTrue(gradModeAfter.get(), "the worker's own grad mode (on by default) is restored");
    }

    private static boolean finite(float[] values) {
        for (float v : values) {
            if (!Float.isFinite(v)) {
                return false;
            }
        }
        return true;
    }
}
