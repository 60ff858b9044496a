package io.salsa.model.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW (Loshchilov & Hutter) as PyTorch implements it: bias-corrected moments and decoupled weight decay,
 * applied to matrices only (biases and LayerNorm gains are not decayed, as in GPT-2 training). Written here
 * rather than taken from DJL so the decay can skip those tensors and the learning rate can change every step.
 *
 * <p>Moment arrays live in the parameters' manager (the model's) and are freed with {@link #close()}.
 */
public final class AdamW implements AutoCloseable {

    private final Map<String, Parameter> params;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final Map<String, NDArray[]> state = new LinkedHashMap<>();
    private long steps;

    /**
     * @param params      parameters to update, by name
     * @param beta1       first-moment decay, in [0, 1)
     * @param beta2       second-moment decay, in [0, 1)
     * @param eps         denominator guard, > 0
     * @param weightDecay decoupled decay of matrices, ≥ 0
     */
    public AdamW(Map<String, Parameter> params, double beta1, double beta2, double eps, double weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("betas must be in [0, 1), got " + beta1 + ", " + beta2);
        }
        if (!(eps > 0)) {
            throw new IllegalArgumentException("eps must be > 0, got " + eps);
        }
        if (!(weightDecay >= 0)) {
            throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        }
        this.params = params;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    /** PyTorch's defaults (0.9, 0.999, 1e-8) with the given decay. */
    public static AdamW withDefaults(Map<String, Parameter> params, double weightDecay) {
        return new AdamW(params, 0.9, 0.999, 1e-8, weightDecay);
    }

    /** Applies one update with learning rate {@code lr} from the current gradients (call outside a GradientCollector). */
    public void step(double lr) {
        steps++;
        double bc1 = 1 - Math.pow(beta1, steps);
        double bc2 = 1 - Math.pow(beta2, steps);
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                NDArray w = e.getValue().getArray();
                if (!w.hasGradient()) {
                    continue;
                }
                NDArray g = w.getGradient();
                NDArray[] mv = state.computeIfAbsent(e.getKey(), k -> {
                    NDArray m = w.zerosLike();
                    NDArray v = w.zerosLike();
                    NDScope.unregister(m, v); // optimiser state outlives this step
                    return new NDArray[] {m, v};
                });
                NDArray m = mv[0].muli(beta1).addi(g.mul(1 - beta1));
                NDArray v = mv[1].muli(beta2).addi(g.square().muli(1 - beta2));
                if (weightDecay > 0 && w.getShape().dimension() >= 2) {
                    w.muli(1 - lr * weightDecay);
                }
                NDArray denom = v.div(bc2).sqrt().addi(eps);
                w.subi(m.div(denom).muli(lr / bc1));
            }
        }
    }

    /** Number of updates applied. */
    public long steps() {
        return steps;
    }

    @Override
    public void close() {
        for (NDArray[] mv : state.values()) {
            mv[0].close();
            mv[1].close();
        }
        state.clear();
    }
}
