package io.salsa.learner.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.salsa.model.train.AdamW;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Guards against DJL's Number-operand ops on the autograd path: they hand autograd a tensor over a Java direct
 * buffer that the garbage collector may free before backward, so gradients read garbage (random NaN). Training
 * while another thread calls {@code System.gc()} in a loop must stay finite and equal an undisturbed run bit for bit.
 */
class PpoStepGcStressTest {

    private static final int STEPS = 50;

    /** Every loss term and coefficient switched on, so each op of the graph is exercised. */
    private static PpoConfig config() {
        return PpoConfig.fromMap(Map.ofEntries(Map.entry("batch_size", "16"), Map.entry("mini_batch_size", "8"),
                Map.entry("ppo_epochs", "2"), Map.entry("learning_rate", "0.03"), Map.entry("adap_kl_ctrl", "false"),
                Map.entry("entropy_coef", "0.01"), Map.entry("vf_coef", "0.1"), Map.entry("temperature", "0.9"),
                Map.entry("is_truncation", "2"), Map.entry("whiten_rewards", "true"), Map.entry("kl_estimator", "k3"),
                Map.entry("weight_decay", "0.01")));
    }

    private static float[] train(long seed, List<Double> metricsSeen) {
        try (NDManager manager = NDManager.newBaseManager()) {
            PpoConfig cfg = config();
            BigramPolicy model = new BigramPolicy(manager, 8, 6, seed);
            try (AdamW adam = PpoStep.optimizer(model.parameters(), cfg)) {
                PpoStep step = new PpoStep(cfg, model, adam, manager);
                SplittableRandom random = new SplittableRandom(seed);
                for (int s = 0; s < STEPS; s++) {
                    List<TrainingSample> batch = new ArrayList<>();
                    float[] table = model.logprobTable();
                    for (int i = 0; i < cfg.batchSize(); i++) {
                        batch.add(model.sample(table, new int[] {random.nextInt(8)}, 4, random,
                                r -> r.length > 0 && r[0] == 3 ? 1 : 0));
                    }
                    PpoStep.Result result = step.run(batch, 0.05, seed * 1000 + s);
                    for (Map.Entry<String, Double> e : result.metrics().entrySet()) {
                        assertTrue(Double.isFinite(e.getValue()), "step " + s + ": " + e.getKey() + " = " + e.getValue());
                        metricsSeen.add(e.getValue());
                    }
                }
                return model.unembed.toFloatArray();
            }
        }
    }

    @Test
    void trainingUnderGarbageCollectionPressureStaysFiniteAndUnchanged() throws InterruptedException {
        float[] quiet = train(5, new ArrayList<>());
        AtomicBoolean stop = new AtomicBoolean();
        Thread collector = new Thread(() -> {
            while (!stop.get()) {
                System.gc();
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "gc-pressure");
        collector.setDaemon(true);
        collector.start();
        float[] stressed;
        try {
            stressed = train(5, new ArrayList<>());
        } finally {
            stop.set(true);
            collector.join();
        }
        for (float w : stressed) {
            assertTrue(Float.isFinite(w), "weights stay finite under GC pressure");
        }
        assertArrayEquals(quiet, stressed, 0f, "GC pressure must not change the trained weights");
    }
}
