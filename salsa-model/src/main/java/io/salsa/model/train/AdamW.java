package io.salsa.model.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Parameter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The one AdamW (Loshchilov &amp; Hutter) of salsa-stream, for SFT, pretraining, the reward model and PPO: written on
 * NDArrays rather than taken from DJL so the moments stay on the device and can be checkpointed and restored exactly
 * (DJL's optimisers keep their state private, so a resumed run would differ from an uninterrupted one), the decay
 * can skip biases and LayerNorm gains, and the learning rate can change every step.
 *
 * <p>Every step, for each tensor with a gradient g (float32, constants rounded to float32 once):
 * <pre>
 *   w ← w·(1 − lr·λ)                       decoupled decay, on the tensors {@link Arithmetic} names
 *   m ← m·β1 + g·(1 − β1)
 *   v ← v·β2 + (g·g)·(1 − β2)
 *   w ← w − (m / denom)·(lr / (1 − β1ᵗ))     denom as {@link Arithmetic} says
 * </pre>
 * The two arithmetics differ in how the second moment is bias-corrected and in which tensors decay; they were the
 * two optimisers this class replaces, and each caller keeps the one its results (SFT weights per seed, the PPO
 * learner's checkpoint hashes and replays) were made with. {@code AdamWTest} pins each to a plain-Java float32
 * formula, shows the two round differently, and checks both against digests of the former optimisers' runs.
 *
 * <p>Clipping and clearing gradients are separate ({@link Gradients}), except in {@link #clipAndStep}, the PPO
 * learner's fused sequence. Moment arrays live next to their parameters (the model's manager) until {@link #close()}.
 */
public final class AdamW implements AutoCloseable {

    /** How the update is rounded and what decays; see the class comment for the shared part. */
    public enum Arithmetic {
        /**
         * SFT, pretraining and the reward model: {@code denom = sqrt(v / (1 − β2ᵗ)) + ε}; decay only on tensors of
         * rank ≥ 2 (weight matrices, not biases or LayerNorm gains, as in GPT-2 training).
         */
        SUPERVISED,
        /**
         * The PPO learner, as {@code torch.optim.AdamW} with one parameter group:
         * {@code denom = sqrt(v) / sqrt(1 − β2ᵗ) + ε}; decay on every tensor. Its moments are the learner's
         * {@code optimizer.safetensors}.
         */
        TORCH
    }

    private final List<NDArray> params;
    private final boolean[] decays;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final Arithmetic arithmetic;
    private final List<NDArray> m = new ArrayList<>();
    private final List<NDArray> v = new ArrayList<>();
    private long steps;

    /**
     * Zero moments for {@code params}, allocated next to each parameter.
     *
     * @param params      parameters to update, in checkpoint order
     * @param beta1       first-moment decay, in [0, 1)
     * @param beta2       second-moment decay, in [0, 1)
     * @param eps         denominator guard, &gt; 0
     * @param weightDecay decoupled decay λ, ≥ 0
     * @param arithmetic  which of the two update roundings and decay sets
     */
    public AdamW(List<NDArray> params, double beta1, double beta2, double eps, double weightDecay,
                 Arithmetic arithmetic) {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("betas must be in [0, 1), got " + beta1 + ", " + beta2);
        }
        if (!(eps > 0)) {
            throw new IllegalArgumentException("eps must be > 0, got " + eps);
        }
        if (!(weightDecay >= 0)) {
            throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        }
        this.params = List.copyOf(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.arithmetic = java.util.Objects.requireNonNull(arithmetic, "arithmetic");
        this.decays = new boolean[this.params.size()];
        for (int i = 0; i < this.params.size(); i++) {
            NDArray p = this.params.get(i);
            decays[i] = weightDecay > 0
                    && (arithmetic == Arithmetic.TORCH || p.getShape().dimension() >= 2);
            NDArray mi = p.zerosLike();
            NDArray vi = p.zerosLike();
            mi.setRequiresGradient(false);
            vi.setRequiresGradient(false);
            NDScope.unregister(mi, vi); // optimiser state outlives any step scope open while it is made
            m.add(mi);
            v.add(vi);
        }
    }

    /** {@link Arithmetic#SUPERVISED} with PyTorch's defaults (β 0.9, 0.999, ε 1e-8) and the given decay. */
    public static AdamW withDefaults(Map<String, Parameter> params, double weightDecay) {
        List<NDArray> arrays = new ArrayList<>(params.size());
        for (Parameter p : params.values()) {
            arrays.add(p.getArray());
        }
        return new AdamW(arrays, 0.9, 0.999, 1e-8, weightDecay, Arithmetic.SUPERVISED);
    }

    /** The arithmetic this optimiser updates with. */
    public Arithmetic arithmetic() {
        return arithmetic;
    }

    /** Updates applied so far (the bias-correction counter). */
    public long steps() {
        return steps;
    }

    /** Restores the step counter after the moments were overwritten in place from a checkpoint. */
    public void restoreSteps(long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("steps must be >= 0, got " + steps);
        }
        this.steps = steps;
    }

    /** First moments, in parameter order, for checkpointing (overwrite in place to restore). */
    public List<NDArray> firstMoments() {
        return m;
    }

    /** Second moments, in parameter order. */
    public List<NDArray> secondMoments() {
        return v;
    }

    /** The parameters this optimiser updates, in order. */
    public List<NDArray> parameters() {
        return params;
    }

    /**
     * Applies one update with learning rate {@code lr} from the current gradients, as they are (no clipping, and
     * the gradients are left in place). Call outside a GradientCollector: the Java-number operands here would
     * otherwise be recorded by autograd (README, "DJL pitfalls").
     */
    public void step(double lr) {
        steps++;
        double bc1 = 1 - Math.pow(beta1, steps);
        double bc2 = 1 - Math.pow(beta2, steps);
        float decay = (float) (1 - lr * weightDecay);
        float b1 = (float) beta1;
        float oneMinusB1 = (float) (1 - beta1);
        float b2 = (float) beta2;
        float oneMinusB2 = (float) (1 - beta2);
        float epsilon = (float) eps;
        float stepSize = (float) (lr / bc1);
        float bc2f = (float) bc2;
        float sqrtBc2 = (float) Math.sqrt(bc2);
        for (int i = 0; i < params.size(); i++) {
            NDArray p = params.get(i);
            if (!p.hasGradient()) {
                continue;
            }
            // one scope per tensor: the update's temporaries (about five arrays of the tensor's size) are freed
            // before the next tensor's, not held for the whole model (+20 bytes per parameter at the peak)
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                NDArray g = p.getGradient();
                if (decays[i]) {
                    p.muli(decay);
                }
                NDArray mi = m.get(i).muli(b1).addi(g.mul(oneMinusB1));
                NDArray vi = v.get(i).muli(b2).addi(g.mul(g).muli(oneMinusB2));
                NDArray denom = arithmetic == Arithmetic.SUPERVISED
                        ? vi.div(bc2f).sqrt().addi(epsilon)
                        : vi.sqrt().divi(sqrtBc2).addi(epsilon);
                p.subi(mi.div(denom).muli(stepSize));
            }
        }
    }

    /**
     * The PPO learner's optimiser step: torch's {@code clip_grad_norm_} on the device ({@link
     * Gradients#clipGlobalNormOnDevice}), one update, then the gradients cleared for the next backward.
     *
     * @return the global gradient norm before clipping, as a device scalar registered in the caller's NDScope
     */
    public NDArray clipAndStep(double lr, double maxNorm) {
        NDArray norm = Gradients.clipGlobalNormOnDevice(params, maxNorm);
        step(lr);
        Gradients.clear(params);
        return norm;
    }

    /**
     * Drops the accumulated gradients without an update (a skipped step): weights, moments and the step counter
     * stay as they are.
     */
    public void discardGradients() {
        Gradients.clear(params);
    }

    @Override
    public void close() {
        m.forEach(NDArray::close);
        v.forEach(NDArray::close);
    }
}
