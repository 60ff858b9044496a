package io.salsa.scorer.rm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reward-model training while another thread runs the garbage collector non-stop: guards against tensors that
 * autograd still needs being freed by the GC (DJL 0.36's Java-number operands did this and gave random NaN
 * gradients, which the trainer then skipped). With every constant a PyTorch-owned tensor, no step is skipped and the weights match a run without GC.
 */
class RewardModelGcStressTest {

    @TempDir
    static Path dir;

    @Test
    void shouldTrainAsWithoutGcAndSkipNoStepWhileTheGarbageCollectorRuns() throws Exception {
        List<PreferencePair> pairs;
        GptConfig tiny;
        TaskDataset task = TaskDataset.generate(new TaskConfig(11, 24, 0.15, 0.1, 600, 2, 512));
        task.writeTo(dir);
        try (SalsaTokenizer tokenizer = SalsaTokenizer.load(dir)) {
            pairs = PreferenceData.readJsonl(dir.resolve("preferences.jsonl"), tokenizer);
            tiny = GptConfig.of(2, 2, 32, tokenizer.vocabSize(), 128, tokenizer.eosId(), tokenizer.padId());
        }
        RmTrainConfig cfg = RmTrainConfig.defaults(3).withLr(3e-3, 8).withSteps(1, 8);
        RewardModelTrainer.Split strict = RewardModelTrainer.split(pairs, 0.2, cfg.seed());
        // the built-in task has no ties: mark every fourth training pair as one so the ½ target is trained too
        List<PreferencePair> train = new ArrayList<>();
        for (int i = 0; i < strict.train().size(); i++) {
            PreferencePair p = strict.train().get(i);
            train.add(i % 4 == 0 ? new PreferencePair(p.group(), p.chosen(), p.rejected(), true) : p);
        }
        RewardModelTrainer.Split split = new RewardModelTrainer.Split(train, strict.heldOut().subList(0, 16));

        // the trainer is deterministic, so a quiet run is the reference: a freed tensor read as garbage can give
        // wrong but finite gradients, which only a bit-for-bit comparison catches
        List<float[]> quiet;
        try (GptModel model = GptModel.random(tiny, GptModel.Head.SCORE, 5, Device.cpu())) {
            RewardModelTrainer.train(model, split, cfg, line -> { });
            quiet = weights(model);
        }
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong collections = new AtomicLong();
        Thread collector = new Thread(() -> {
            while (running.get()) {
                System.gc();
                collections.incrementAndGet();
                try {
                    Thread.sleep(1); // lets training run between full collections on a 2-core machine
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "gc-stress");
        collector.setDaemon(true);
        List<String> log = new ArrayList<>();
        RewardModelTrainer.Result r;
        List<float[]> stressed;
        try (GptModel model = GptModel.random(tiny, GptModel.Head.SCORE, 5, Device.cpu())) {
            collector.start();
            try {
                r = RewardModelTrainer.train(model, split, cfg, log::add);
            } finally {
                running.set(false);
                collector.join();
            }
            stressed = weights(model);
        }
        System.out.println("gc-stress RM: " + r + ", " + collections.get() + " System.gc() calls");
        assertTrue(collections.get() >= r.steps(), "the GC ran throughout training: " + collections.get());
        assertEquals(8, r.steps());
        assertEquals(0, r.skipped(), "non-finite steps under GC pressure: " + log);
        assertTrue(Double.isFinite(r.finalLoss()), "final loss " + r.finalLoss());
        assertTrue(Double.isFinite(r.after().loss()), "held-out loss after training " + r.after());
        for (int i = 0; i < quiet.size(); i++) {
            assertArrayEquals(quiet.get(i), stressed.get(i), "parameter " + i + " differs from the run without GC");
        }
    }

    /** Every parameter's weights, all asserted finite. */
    private static List<float[]> weights(GptModel model) {
        List<float[]> all = new ArrayList<>();
        for (String name : model.parameters().keySet()) {
            float[] w = model.weights(name);
            for (float v : w) {
                assertTrue(Float.isFinite(v), "weight of " + name + " is not finite");
            }
            all.add(w);
        }
        return all;
    }
}
