package io.salsa.model.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;

/** The comparisons every golden test makes, with the golden set's tolerances, so each family's test reads the same. */
public final class GoldenAsserts {

    /** Logits, hidden states, log-probs, values: absolute. */
    public static final double TOL = 1e-4;
    /** Gradients: relative to the reference's L2 norm. */
    public static final double GRAD_REL_TOL = 1e-5;

    private GoldenAsserts() {
    }

    /** A parameter's gradient within {@link #GRAD_REL_TOL} × ‖ref‖ (max abs difference), same shape. */
    public static void assertGradClose(String name, Parameter param, Npy ref) {
        float[] ours;
        try (NDArray g = param.getArray().getGradient()) {
            assertArrayEquals(ref.shape(), g.getShape().getShape(), name + " gradient shape");
            ours = g.toFloatArray();
        }
        double norm = 0;
        double maxDiff = 0;
        for (int i = 0; i < ours.length; i++) {
            norm += (double) ref.floats()[i] * ref.floats()[i];
            maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ref.floats()[i]));
        }
        norm = Math.sqrt(norm);
        assertTrue(norm > 0, name + " reference gradient is zero");
        assertTrue(maxDiff <= GRAD_REL_TOL * norm, name + ": max |Δ| " + maxDiff + " exceeds " + GRAD_REL_TOL
                + " × ‖ref‖ = " + GRAD_REL_TOL * norm);
    }

    /** Compares [B, T, W] arrays within {@link #TOL} only at positions whose mask is 1 (W = length / mask length). */
    public static void assertMaskedClose(String what, float[] expected, float[] actual, long[] mask) {
        assertEquals(expected.length, actual.length, what + " size");
        int width = expected.length / mask.length;
        double max = 0;
        for (int p = 0; p < mask.length; p++) {
            if (mask[p] == 0) {
                continue;
            }
            for (int k = 0; k < width; k++) {
                int i = p * width + k;
                max = Math.max(max, Math.abs(expected[i] - actual[i]));
            }
        }
        assertTrue(max <= TOL, what + ": max |Δ| = " + max + " > " + TOL);
    }
}
