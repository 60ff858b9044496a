package io.salsa.model.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;

/**
 * Gradient housekeeping between backward and optimiser step: global-norm clipping, zeroing and clearing, because
 * PyTorch accumulates gradients across backward calls until they are cleared. Java-number operands are safe here:
 * no GradientCollector is open, so autograd keeps no reference to DJL's temporary scalar tensors.
 */
public final class Gradients {

    private Gradients() {
    }

    /**
     * Runs a training step with PyTorch's grad mode off on the calling thread, then restores the thread's mode. Grad
     * mode is per thread and on by default, and DJL turns it off only on the thread that loaded the engine; a step
     * records gradients inside its GradientCollector and updates the weights in place outside it, which PyTorch
     * refuses with grad mode on ("a leaf Variable that requires grad is being used in an in-place operation"). So
     * every step that may run on another thread (a service's, an executor's) goes through here.
     */
    public static <T> T withGradModeOff(Supplier<T> step) {
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            return step.get();
        } finally {
            JniUtils.setGradMode(gradMode);
        }
    }

    /**
     * The global L2 norm of all gradients, on the host in double precision (each tensor's sum of squares in
     * float32); NaN or infinite when a gradient is not finite.
     */
    public static double globalNorm(Collection<Parameter> params) {
        double sq = 0;
        for (Parameter p : params) {
            if (p.getArray().hasGradient()) {
                // a scope per tensor: its square is freed before the next one's (not one model-sized copy)
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    NDArray g = p.getArray().getGradient();
                    sq += g.square().sum().toType(DataType.FLOAT64, false).getDouble();
                }
            }
        }
        return Math.sqrt(sq);
    }

    /**
     * Scales all gradients by {@code maxNorm / (norm + 1e-6)} when {@code norm}, their global norm from {@link
     * #globalNorm}, exceeds {@code maxNorm} (≤ 0 or infinite: no clipping).
     */
    public static void clipToNorm(Collection<Parameter> params, double norm, double maxNorm) {
        if (maxNorm > 0 && Double.isFinite(maxNorm) && norm > maxNorm) {
            double scale = maxNorm / (norm + 1e-6);
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                for (Parameter p : params) {
                    if (p.getArray().hasGradient()) {
                        p.getArray().getGradient().muli(scale);
                    }
                }
            }
        }
    }

    /**
     * Scales all gradients so their global L2 norm is at most {@code maxNorm} (≤ 0 or infinite: no clipping)
     * and returns the norm before clipping (NaN or infinite when a gradient is not finite).
     */
    public static double clipGlobalNorm(Collection<Parameter> params, double maxNorm) {
        double norm = globalNorm(params);
        clipToNorm(params, norm, maxNorm);
        return norm;
    }

    /**
     * torch's {@code clip_grad_norm_} without a host transfer: the global norm in float32 on the device, every
     * gradient multiplied in place by {@code min(maxNorm / (norm + 1e-6), 1)}. The PPO learner's clipping.
     *
     * @return the norm before clipping, as a device scalar registered in the caller's NDScope (if any)
     */
    public static NDArray clipGlobalNormOnDevice(List<NDArray> params, double maxNorm) {
        NDArray totalNorm;
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            List<NDArray> grads = new ArrayList<>(params.size());
            NDList squares = new NDList();
            for (NDArray p : params) {
                NDArray g = p.getGradient();
                grads.add(g);
                // the tensor-sized square is freed at once; only its scalar sum stays for the norm
                try (NDScope square = new NDScope()) {
                    square.suppressNotUsedWarning();
                    NDArray sum = g.mul(g).sum();
                    NDScope.unregister(sum);
                    squares.add(sum);
                }
                NDScope.register(squares.get(squares.size() - 1));
            }
            totalNorm = squares.size() == 1 ? squares.get(0).sqrt()
                    : NDArrays.add(squares.toArray(new NDArray[0])).sqrt();
            NDArray coef = totalNorm.add(1e-6f).pow(-1f).mul((float) maxNorm).minimum(1f);
            for (NDArray g : grads) {
                g.muli(coef);
            }
            NDScope.unregister(totalNorm);
        }
        // hand the norm to the caller's scope (if any) so it is freed with the caller's step
        NDScope.register(totalNorm);
        return totalNorm;
    }

    /**
     * Clears every gradient (before the next backward pass) by multiplying it by 0 in place. Not
     * {@code JniUtils.zeroGrad}: in DJL 0.36 it leaves gradients that later read as NaN at random steps. Only for
     * finite gradients (inf·0 is NaN): after a non-finite step use {@link #clear}.
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

    /**
     * Sets every gradient of {@code params} to +0 by a fill, which also clears inf and NaN (where {@code g·0} and
     * {@code g−g} would leave NaN that the next backward accumulates onto).
     */
    public static void clear(Collection<NDArray> params) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            for (NDArray p : params) {
                if (p.hasGradient()) {
                    p.getGradient().set(new NDIndex("..."), 0f);
                }
            }
        }
    }
}
