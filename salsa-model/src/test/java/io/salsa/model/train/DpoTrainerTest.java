package io.salsa.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DPO by hand: the loss and its gradient on numbers worked out on paper, its limits in β, log 2 when the policy is
 * its reference, and training on the tiny model that makes the implicit reward rank the chosen responses first.
 */
class DpoTrainerTest {

    private static final double LOG2 = Math.log(2);

    @TempDir
    Path tmp;

    @Test
    void shouldMatchTheHandComputedLossAndGradientSigns() {
        // pair 1: log πθ(y_w) = −2, log πθ(y_l) = −3, reference −2.5 for both; β = 0.5
        //   margin = 0.5·((−2 + 2.5) − (−3 + 2.5)) = 0.5, loss = log(1 + e^−0.5) = 0.4740770
        // pair 2: policy −4 and −1, reference −3 and −2: margin = 0.5·(−1 − 1) = −1, loss = log(1 + e) = 1.3132617
        assertEquals(0.4740770, DpoTrainer.loss(-2, -3, -2.5, -2.5, 0.5), 1e-6);
        assertEquals(1.3132617, DpoTrainer.loss(-4, -1, -3, -2, 0.5), 1e-6);
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray chosen = m.create(new float[] {-2f, -4f});
            NDArray rejected = m.create(new float[] {-3f, -1f});
            chosen.setRequiresGradient(true);
            rejected.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray loss = DpoTrainer.loss(chosen, rejected, m.create(new float[] {-2.5f, -3f}),
                        m.create(new float[] {-2.5f, -2f}), 0.5);
                assertEquals((0.4740770 + 1.3132617) / 2, loss.getFloat(), 1e-5);
                gc.backward(loss);
            }
            // ∂loss/∂log πθ(y_w) = −β·σ(−margin)/P: raising the chosen response's probability lowers the loss
            float[] gChosen = chosen.getGradient().toFloatArray();
            float[] gRejected = rejected.getGradient().toFloatArray();
            assertEquals(-0.5 * sigmoid(-0.5) / 2, gChosen[0], 1e-6);
            assertEquals(-0.5 * sigmoid(1.0) / 2, gChosen[1], 1e-6);
            assertEquals(0.5 * sigmoid(-0.5) / 2, gRejected[0], 1e-6);
            assertEquals(0.5 * sigmoid(1.0) / 2, gRejected[1], 1e-6);
        }
    }

    @Test
    void shouldTendToLogTwoAsBetaVanishesAndToAHingeAsBetaGrows() {
        // Δ = (log-ratio of y_w) − (log-ratio of y_l) = 2 here, −2 with the responses swapped
        assertEquals(LOG2, DpoTrainer.loss(-1, -3, -2, -2, 1e-9), 1e-8);
        assertEquals(LOG2, DpoTrainer.loss(-3, -1, -2, -2, 1e-9), 1e-8);
        assertTrue(DpoTrainer.loss(-1, -3, -2, -2, 50) < 1e-40, "a right ranking costs nothing at large β");
        assertEquals(100, DpoTrainer.loss(-3, -1, -2, -2, 50), 1e-9, "a wrong one costs β·|Δ|");
        double previous = Double.POSITIVE_INFINITY;
        for (double beta : new double[] {0.01, 0.1, 1, 10}) {
            double loss = DpoTrainer.loss(-1, -3, -2, -2, beta);
            assertTrue(loss < previous, "for a right ranking the loss falls as β grows");
            previous = loss;
        }
    }

    @Test
    void shouldGiveLogTwoWhenThePolicyIsItsOwnReference() throws Exception {
        Path base = TinyFixtures.baseModel(tmp.resolve("base"));
        try (CausalLm model = CausalLms.load(base, GptModel.Head.NONE, Device.cpu())) {
            List<DpoTrainer.ScoredPair> pairs = DpoTrainer.withReference(model, pairs(), 3);
            assertEquals(LOG2, DpoTrainer.evaluate(model, pairs, 0.1, 4).loss(), 1e-5);
            try (NDManager scope = model.newScope()) {
                NDArray loss = DpoTrainer.objective(0.1).loss(model, scope, pairs);
                assertEquals(LOG2, loss.getFloat(), 1e-5, "the batched training loss (chosen and rejected in one pass)");
            }
        }
    }

    @Test
    void shouldTeachThePolicyToPreferTheChosenResponses() throws Exception {
        Path base = TinyFixtures.baseModel(tmp.resolve("base"));
        try (CausalLm reference = CausalLms.load(base, GptModel.Head.NONE, Device.cpu());
             CausalLm policy = CausalLms.load(base, GptModel.Head.NONE, Device.cpu())) {
            List<DpoTrainer.ScoredPair> pairs = DpoTrainer.withReference(reference, pairs(), 4);
            DpoTrainer.Metrics before = DpoTrainer.evaluate(policy, pairs, 0.5, 4);
            SupervisedTrainer.Result r = DpoTrainer.train(policy, pairs,
                    0.5, new SupervisedTrainer.Settings(15, 5e-3, 4, 0, 0, 1.0, 0.0, 3, 3), line -> { });
            DpoTrainer.Metrics after = DpoTrainer.evaluate(policy, pairs, 0.5, 4);
            assertEquals(0, r.skipped());
            assertEquals(0.5, before.accuracy(), 1e-9, "policy = reference: every margin is 0");
            assertEquals(1.0, after.accuracy(), 1e-9);
            assertTrue(after.loss() < 0.5 * LOG2, "loss " + after.loss());
            assertTrue(after.margin() > 0);
            // the reference's log-probs were taken once: the frozen reference still scores the pairs the same
            List<DpoTrainer.ScoredPair> again = DpoTrainer.withReference(reference, pairs(), 4);
            for (int i = 0; i < pairs.size(); i++) {
                assertEquals(pairs.get(i).referenceChosen(), again.get(i).referenceChosen(), 1e-5);
            }
        }
    }

    @Test
    void shouldRefuseANonPositiveBetaNamingIt() {
        var e = assertThrows(IllegalArgumentException.class, () -> DpoTrainer.objective(0));
        assertTrue(e.getMessage().contains("DPO beta"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DpoTrainer.objective(Double.NaN));
    }

    /** Eight prompts of the fixture's id range; the chosen answer ends in one token, the rejected in another. */
    private static List<DpoTrainer.Pair> pairs() {
        List<DpoTrainer.Pair> out = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int[] prompt = {5 + i, 14, 15};
            out.add(new DpoTrainer.Pair(sequence(prompt, 20 + (i % 4), 28), sequence(prompt, 24 + (i % 4), 29)));
        }
        return out;
    }

    /** prompt ++ response ++ EOS (id 0), trained on the response and EOS. */
    private static SftData.Sequence sequence(int[] prompt, int... response) {
        int[] ids = new int[prompt.length + response.length + 1];
        System.arraycopy(prompt, 0, ids, 0, prompt.length);
        System.arraycopy(response, 0, ids, prompt.length, response.length);
        return new SftData.Sequence(ids, prompt.length);
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }
}
