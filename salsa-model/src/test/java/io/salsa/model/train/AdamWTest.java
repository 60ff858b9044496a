package io.salsa.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The one {@link AdamW} keeps both former optimisers' results bit for bit: each {@link AdamW.Arithmetic} equals a
 * plain-Java float32 formula (square roots from the engine), the two formulas round differently, and the digests of a fixed run equal those the
 * former classes gave ({@code io.salsa.model.train.AdamW}, used by SFT and the reward model, and
 * {@code io.salsa.learner.ppo.AdamW}, used by the PPO learner, both as of commit 9bcb562).
 */
class AdamWTest {

    /** A weight matrix (decayed by both arithmetics) and a bias-like vector (decayed by TORCH only). */
    private static final long[][] SHAPES = {{3, 4}, {6}};
    /** SFT's learning rates change every step (warm-up, decay). */
    private static final double[] LRS = {1e-3, 3e-3, 5e-3, 2e-3, 1e-2, 7e-4};
    /** The learner's is fixed. */
    private static final double LEARNER_LR = 3e-3;
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPS = 1e-8;
    private static final double DECAY = 0.01;

    /** SHA-256 of weights and moments after {@link #run} with the former {@code io.salsa.model.train.AdamW}. */
    private static final String FORMER_SUPERVISED = "1bfe040b81621f3e4688dc1252dfaebcebb986f7040bb9c414852a6587581ee7";
    /** The same with the former {@code io.salsa.learner.ppo.AdamW} (clipping at norm 1 included). */
    private static final String FORMER_TORCH = "061f2ef8df42167b3441517ca2fc1b3ddc5b74c51801690c30ea4e4c9c3f1a88";

    private static int size(long[] shape) {
        return (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    }

    /** Starting weights: Gaussian, with every third element exactly 0 (as biases start) so updates show in full. */
    static float[][] initialWeights(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] w = new float[SHAPES.length][];
        for (int i = 0; i < SHAPES.length; i++) {
            w[i] = new float[size(SHAPES[i])];
            for (int j = 0; j < w[i].length; j++) {
                w[i][j] = j % 3 == 0 ? 0f : (float) (r.nextGaussian() * 0.5);
            }
        }
        return w;
    }

    /** Gradients of step {@code step}: magnitudes over four decades, some exactly 0; global norm above and below 1. */
    static float[][] gradients(long seed, int step) {
        SplittableRandom r = new SplittableRandom(seed * 1000 + step);
        float[][] g = new float[SHAPES.length][];
        for (int i = 0; i < SHAPES.length; i++) {
            g[i] = new float[size(SHAPES[i])];
            for (int j = 0; j < g[i].length; j++) {
                g[i][j] = j % 7 == 3 ? 0f : (float) (r.nextGaussian() * Math.pow(10, r.nextDouble(-3, step % 2 == 0 ? 1 : -1)));
            }
        }
        return g;
    }

    static List<NDArray> parameters(NDManager manager, float[][] w) {
        List<NDArray> ps = new ArrayList<>();
        for (int i = 0; i < SHAPES.length; i++) {
            NDArray a = manager.create(w[i], new Shape(SHAPES[i]));
            a.setRequiresGradient(true);
            ps.add(a);
        }
        return ps;
    }

    /** Backward of Σ p·g, which leaves exactly g as each parameter's gradient. */
    static void backward(NDManager manager, List<NDArray> ps, float[][] g) {
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray loss = null;
            for (int i = 0; i < ps.size(); i++) {
                NDArray t = ps.get(i).mul(manager.create(g[i], ps.get(i).getShape())).sum();
                loss = loss == null ? t : loss.add(t);
            }
            gc.backward(loss);
        }
    }

    /** Java state of a run: weights, moments, and the clip coefficients the device computed (TORCH). */
    record State(float[][] w, float[][] m, float[][] v) {
        static State of(float[][] w) {
            float[][] m = new float[w.length][];
            float[][] v = new float[w.length][];
            for (int i = 0; i < w.length; i++) {
                m[i] = new float[w[i].length];
                v[i] = new float[w[i].length];
            }
            return new State(Arrays.stream(w).map(float[]::clone).toArray(float[][]::new), m, v);
        }
    }

    /**
     * The reference update in plain Java float32, every constant rounded to float once. {@code supervised}: the
     * denominator is sqrt(v / bc2) + ε and only matrices decay; otherwise sqrt(v) / sqrt(bc2) + ε and all decay.
     * Square roots come from the engine ({@link #engineSqrt}): PyTorch's float32 sqrt on this CPU is not always
     * correctly rounded (1 ulp off now and then), while its elementwise ·, /, + and − are IEEE float32 like Java's.
     */
    static void reference(NDManager manager, State s, float[][] grads, float coef, long t, double lr, double decay,
                          boolean supervised) {
        double bc1 = 1 - Math.pow(BETA1, t);
        double bc2 = 1 - Math.pow(BETA2, t);
        for (int i = 0; i < s.w().length; i++) {
            boolean decays = decay > 0 && (!supervised || SHAPES[i].length >= 2);
            float[] w = s.w()[i];
            float[] m = s.m()[i];
            float[] v = s.v()[i];
            float[] radicand = new float[w.length];
            for (int j = 0; j < w.length; j++) {
                float g = grads[i][j] * coef;
                if (decays) {
                    w[j] = w[j] * (float) (1 - lr * decay);
                }
                m[j] = m[j] * (float) BETA1 + g * (float) (1 - BETA1);
                v[j] = v[j] * (float) BETA2 + (g * g) * (float) (1 - BETA2);
                radicand[j] = supervised ? v[j] / (float) bc2 : v[j];
            }
            float[] root = engineSqrt(manager, radicand, SHAPES[i]);
            for (int j = 0; j < w.length; j++) {
                float denom = supervised ? root[j] + (float) EPS : root[j] / (float) Math.sqrt(bc2) + (float) EPS;
                w[j] = w[j] - (m[j] / denom) * (float) (lr / bc1);
            }
        }
    }

    /** PyTorch's float32 square root of {@code x}, laid out as the optimiser's tensor is. */
    static float[] engineSqrt(NDManager manager, float[] x, long[] shape) {
        try (NDArray a = manager.create(x, new Shape(shape)); NDArray r = a.sqrt()) {
            return r.toFloatArray();
        }
    }

    /**
     * Six steps of the optimiser under test on fixed data: SUPERVISED as SFT drives it ({@code step(lr)} with a
     * changing rate, the caller zeroes the gradients), TORCH as the learner does ({@code clipAndStep(lr, 1)} with a
     * fixed rate). Checks every step
     * against {@link #reference} and returns the SHA-256 of the final weights and moments.
     */
    static String run(AdamW.Arithmetic arithmetic, long seed) {
        boolean supervised = arithmetic == AdamW.Arithmetic.SUPERVISED;
        try (NDManager manager = NDManager.newBaseManager()) {
            float[][] w0 = initialWeights(seed);
            List<NDArray> ps = parameters(manager, w0);
            State ref = State.of(w0);
            try (AdamW opt = new AdamW(ps, BETA1, BETA2, EPS, DECAY, arithmetic)) {
                for (int s = 0; s < LRS.length; s++) {
                    float[][] g = gradients(seed, s);
                    backward(manager, ps, g);
                    double lr = supervised ? LRS[s] : LEARNER_LR;
                    float coef = 1f;
                    if (supervised) {
                        opt.step(lr);
                        for (NDArray p : ps) {
                            p.getGradient().muli(0);
                        }
                    } else {
                        try (NDScope scope = new NDScope()) {
                            scope.suppressNotUsedWarning();
                            float norm = opt.clipAndStep(lr, 1.0).getFloat();
                            coef = Math.min(1f * (1f / (norm + 1e-6f)), 1f);
                        }
                    }
                    reference(manager, ref, g, coef, s + 1, lr, DECAY, supervised);
                    for (int i = 0; i < ps.size(); i++) {
                        assertArrayEquals(bits(ref.w()[i]), bits(ps.get(i).toFloatArray()),
                                arithmetic + " weights of tensor " + i + " after step " + (s + 1));
                        assertArrayEquals(bits(ref.m()[i]), bits(opt.firstMoments().get(i).toFloatArray()));
                        assertArrayEquals(bits(ref.v()[i]), bits(opt.secondMoments().get(i).toFloatArray()));
                    }
                }
                assertEquals(LRS.length, opt.steps());
                return digest(ps, opt);
            }
        }
    }

    @Test
    void supervisedArithmeticIsTheFormerSftAndRewardModelOptimiser() {
        assertEquals(FORMER_SUPERVISED, run(AdamW.Arithmetic.SUPERVISED, 1));
    }

    @Test
    void torchArithmeticIsTheFormerPpoLearnerOptimiser() {
        assertEquals(FORMER_TORCH, run(AdamW.Arithmetic.TORCH, 2));
    }

    @Test
    void theTwoArithmeticsRoundTheBiasCorrectionDifferently() {
        // same data, no decay: only sqrt(v / bc2) vs sqrt(v) / sqrt(bc2) can differ
        State a = State.of(initialWeights(3));
        State b = State.of(initialWeights(3));
        int differing = 0;
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int s = 0; s < LRS.length; s++) {
                float[][] g = gradients(3, s);
                reference(manager, a, g, 1f, s + 1, LRS[s], 0, true);
                reference(manager, b, g, 1f, s + 1, LRS[s], 0, false);
            }
        }
        for (int i = 0; i < SHAPES.length; i++) {
            for (int j = 0; j < a.w()[i].length; j++) {
                differing += Float.floatToRawIntBits(a.w()[i][j]) != Float.floatToRawIntBits(b.w()[i][j]) ? 1 : 0;
            }
        }
        assertNotEquals(0, differing, "the formulas agree everywhere: the option would not be needed");
        // and the implementation follows: the same run in the two arithmetics ends with other weights
        assertNotEquals(digestOfPlainSteps(AdamW.Arithmetic.SUPERVISED), digestOfPlainSteps(AdamW.Arithmetic.TORCH));
    }

    @Test
    void supervisedDecaysOnlyMatricesTorchDecaysEveryTensor() {
        for (AdamW.Arithmetic arithmetic : AdamW.Arithmetic.values()) {
            try (NDManager manager = NDManager.newBaseManager()) {
                List<NDArray> ps = parameters(manager, new float[][] {filled(12, 2f), filled(6, 2f)});
                try (AdamW opt = new AdamW(ps, BETA1, BETA2, EPS, 0.5, arithmetic)) {
                    backward(manager, ps, new float[][] {new float[12], new float[6]}); // zero gradients
                    opt.step(0.1);
                    assertEquals(2f * (float) (1 - 0.1 * 0.5), ps.get(0).toFloatArray()[0], 0f, arithmetic + " matrix");
                    float vector = arithmetic == AdamW.Arithmetic.TORCH ? 2f * (float) (1 - 0.1 * 0.5) : 2f;
                    assertEquals(vector, ps.get(1).toFloatArray()[0], 0f, arithmetic + " vector");
                }
            }
        }
    }

    @Test
    void discardingGradientsLeavesWeightsMomentsAndStepsAndClearsInfinities() {
        try (NDManager manager = NDManager.newBaseManager()) {
            List<NDArray> ps = parameters(manager, initialWeights(4));
            try (AdamW opt = new AdamW(ps, BETA1, BETA2, EPS, DECAY, AdamW.Arithmetic.TORCH)) {
                backward(manager, ps, gradients(4, 0));
                opt.clipAndStep(1e-3, 1.0).close();
                String before = digest(ps, opt);
                float[][] bad = gradients(4, 1);
                bad[0][1] = Float.POSITIVE_INFINITY;
                bad[1][2] = Float.NaN;
                backward(manager, ps, bad);
                opt.discardGradients();
                assertEquals(before, digest(ps, opt));
                assertEquals(1, opt.steps());
                for (NDArray p : ps) {
                    for (float g : p.getGradient().toFloatArray()) {
                        assertEquals(0f, g, 0f, "cleared to 0, not NaN");
                    }
                }
            }
        }
    }

    @Test
    void refusesImpossibleSettings() {
        try (NDManager manager = NDManager.newBaseManager()) {
            List<NDArray> ps = parameters(manager, initialWeights(5));
            assertThrows(IllegalArgumentException.class, () -> new AdamW(ps, 1.0, BETA2, EPS, 0, AdamW.Arithmetic.TORCH));
            assertThrows(IllegalArgumentException.class, () -> new AdamW(ps, BETA1, BETA2, 0, 0, AdamW.Arithmetic.TORCH));
            assertThrows(IllegalArgumentException.class, () -> new AdamW(ps, BETA1, BETA2, EPS, -1, AdamW.Arithmetic.TORCH));
            try (AdamW opt = new AdamW(ps, BETA1, BETA2, EPS, 0, AdamW.Arithmetic.SUPERVISED)) {
                assertFalse(opt.firstMoments().isEmpty());
                assertThrows(IllegalArgumentException.class, () -> opt.restoreSteps(-1));
            }
        }
    }

    /** Six plain {@code step(lr)} updates, no decay, gradients zeroed between steps. */
    private static String digestOfPlainSteps(AdamW.Arithmetic arithmetic) {
        try (NDManager manager = NDManager.newBaseManager()) {
            List<NDArray> ps = parameters(manager, initialWeights(3));
            try (AdamW opt = new AdamW(ps, BETA1, BETA2, EPS, 0, arithmetic)) {
                for (int s = 0; s < LRS.length; s++) {
                    backward(manager, ps, gradients(3, s));
                    opt.step(LRS[s]);
                    opt.discardGradients();
                }
                return digest(ps, opt);
            }
        }
    }

    private static float[] filled(int n, float value) {
        float[] a = new float[n];
        Arrays.fill(a, value);
        return a;
    }

    private static int[] bits(float[] a) {
        int[] out = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = Float.floatToRawIntBits(a[i]);
        }
        return out;
    }

    /** SHA-256 of the raw float bits of the weights, then the first and the second moments. */
    static String digest(List<NDArray> ps, AdamW opt) {
        List<NDArray> all = new ArrayList<>(ps);
        all.addAll(opt.firstMoments());
        all.addAll(opt.secondMoments());
        return digestOf(all);
    }

    static String digestOf(List<NDArray> arrays) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (NDArray a : arrays) {
                for (float f : a.toFloatArray()) {
                    int b = Float.floatToRawIntBits(f);
                    md.update(new byte[] {(byte) b, (byte) (b >>> 8), (byte) (b >>> 16), (byte) (b >>> 24)});
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
