package io.salsa.model.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The device-side sampling log-prob agrees with what {@link TokenSampler} records for the token it sampled. */
class SampledLogprobsTest {

    private static final int VOCAB = 50;

    private static float[] randomLogits(SplittableRandom r, int rows) {
        float[] logits = new float[rows * VOCAB];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (r.nextGaussian() * 2.5);
        }
        return logits;
    }

    /** Samples one token per row with the sampler, then recomputes its log-prob on the device with the same settings. */
    private static void check(float temperature, int topK, float topP) {
        SplittableRandom r = new SplittableRandom(31 + topK + (long) (100 * topP) + (long) (10 * temperature));
        int rows = 64;
        float[] logits = randomLogits(r, rows);
        TokenSampler sampler = new TokenSampler(new SamplingConfig(4, temperature, topK, topP, true, true));
        long[] tokens = new long[rows];
        double[] expected = new double[rows];
        for (int i = 0; i < rows; i++) {
            TokenSampler.Choice c = sampler.choose(logits, i * VOCAB, VOCAB, r);
            tokens[i] = c.token();
            expected[i] = c.samplingLogProb();
        }
        float[] t = new float[rows];
        int[] k = new int[rows];
        float[] p = new float[rows];
        java.util.Arrays.fill(t, temperature);
        java.util.Arrays.fill(k, topK);
        java.util.Arrays.fill(p, topP);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray lp = SampledLogprobs.of(m.create(logits, new Shape(rows, VOCAB)), m.create(tokens), t, k, p);
            float[] got = lp.toFloatArray();
            for (int i = 0; i < rows; i++) {
                assertEquals(expected[i], got[i], 1e-5, "row " + i + " at T=" + temperature + " k=" + topK + " p=" + topP);
            }
        }
    }

    @Test
    void agreesWithTheSamplerUnderTemperatureTopKAndTopP() {
        check(1f, 0, 1f);
        check(0.7f, 0, 1f);
        check(0.7f, 0, 0.9f);
        check(1.3f, 5, 1f);
        check(0.5f, 10, 0.8f);
        check(1f, 0, 0.3f);
    }

    @Test
    void aTokenOutsideTheCutKeepsAFiniteLogProbAndEachRowItsOwnSettings() {
        // row 0: logits 3,2,1,0,… with top-k 1 keeps only token 0; token 3 is outside the cut but stays finite
        float[] logits = new float[2 * VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            logits[i] = 3 - i;
            logits[VOCAB + i] = 3 - i;
        }
        try (NDManager m = NDManager.newBaseManager()) {
            float[] lp = SampledLogprobs.of(m.create(logits, new Shape(2, VOCAB)), m.create(new long[] {3, 3}),
                    new float[] {1f, 2f}, new int[] {1, 0}, new float[] {1f, 1f}).toFloatArray();
            // kept {0, 3}: log(e^0 / (e^3 + e^0))
            assertEquals(-Math.log1p(Math.exp(3)), lp[0], 1e-5);
            // row 1 is plain temperature 2 over the whole vocabulary
            double z = 0;
            for (int i = 0; i < VOCAB; i++) {
                z += Math.exp((3.0 - i) / 2);
            }
            assertEquals(0 - Math.log(z), lp[1], 1e-5);
        }
    }

    @Test
    void isDifferentiableInTheKeptLogitsOnly() {
        float[] logits = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            logits[i] = 3 - i;
        }
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(logits, new Shape(1, VOCAB));
            x.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray lp = SampledLogprobs.of(x, m.create(new long[] {1}), new float[] {0.5f}, new int[] {3},
                        new float[] {1f});
                gc.backward(lp.sum());
            }
            float[] g = x.getGradient().toFloatArray();
            assertTrue(g[1] > 0, "the token's own logit pushes its log-prob up");
            assertTrue(g[0] < 0 && g[2] < 0, "the other kept logits push it down");
            for (int i = 3; i < VOCAB; i++) {
                assertEquals(0f, g[i], 0f, "logit " + i + " is outside the cut");
            }
        }
    }
}
