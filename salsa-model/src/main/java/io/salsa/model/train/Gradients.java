package io.salsa.model.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Parameter;
import java.util.Collection;

/**
 * Gradient housekeeping between backward and optimiser step: global-norm clipping and zeroing, because
 * PyTorch accumulates gradients across backward calls until they are cleared.
 */
public final class Gradients {

    private Gradients() {
    }

    /**
     * Scales all gradients so their global L2 norm is at most {@code maxNorm} (≤ 0 or infinite: no clipping)
     * and returns the norm before clipping (NaN or infinite when a gradient is not finite).
     */
    public static double clipGlobalNorm(Collection<Parameter> params, double maxNorm) {
        double sq = 0;
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            for (Parameter p : params) {
                if (p.getArray().hasGradient()) {
                    NDArray g = p.getArray().getGradient();
                    sq += g.square().sum().toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
                }
            }
            double norm = Math.sqrt(sq);
            if (maxNorm > 0 && Double.isFinite(maxNorm) && norm > maxNorm) {
                double scale = maxNorm / (norm + 1e-6);
                for (Parameter p : params) {
                    if (p.getArray().hasGradient()) {
                        p.getArray().getGradient().muli(scale);
                    }
                }
            }
            return norm;
        }
    }

    /**
     * Clears every gradient (before the next backward pass) by multiplying it by 0 in place. Not
     * {@code JniUtils.zeroGrad}: in DJL 0.36 it leaves gradients that later read as NaN at random steps.
     */
    public static void zero(Collection<Parameter> params) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            for (Parameter p : params) {
                NDArray a = p.getArray();
                if (a.hasGradient()) {
                    a.getGradient().muli(0);
                }
            }
        }
    }
}
