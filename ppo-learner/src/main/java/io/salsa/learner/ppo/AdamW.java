package io.salsa.learner.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW with PyTorch's update rule and global-norm gradient clipping, written on NDArrays so its moments stay on
 * the device and can be saved and restored exactly; DJL's own optimisers keep their state private, which would
 * make a resumed run differ from an uninterrupted one.
 */
public final class AdamW implements AutoCloseable {

    private final double learningRate;
    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private final double weightDecay;
    private final List<NDArray> params;
    private final List<NDArray> m = new ArrayList<>();
    private final List<NDArray> v = new ArrayList<>();
    private long t;

    /** Zero moments for {@code params}, allocated next to each parameter. */
    public AdamW(List<NDArray> params, double learningRate, double beta1, double beta2, double epsilon,
            double weightDecay) {
        this.params = List.copyOf(params);
        this.learningRate = learningRate;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        this.weightDecay = weightDecay;
        for (NDArray p : this.params) {
            NDArray mi = p.zerosLike();
            NDArray vi = p.zerosLike();
            mi.setRequiresGradient(false);
            vi.setRequiresGradient(false);
            m.add(mi);
            v.add(vi);
        }
    }

    /** An optimiser for {@code params} with the config's AdamW settings. */
    public static AdamW fromConfig(List<NDArray> params, PpoConfig config) {
        return new AdamW(params, config.learningRate(), config.adamBeta1(), config.adamBeta2(), config.adamEpsilon(),
                config.weightDecay());
    }

    /** Steps taken so far (the bias-correction counter). */
    public long steps() {
        return t;
    }

    /** First and second moments, in parameter order, for checkpointing. */
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
     * Drops the accumulated gradients without an update (a step skipped by loss scaling): weights, moments and the
     * step counter stay as they are. Zeroes by a fill, not by {@code g·0} or {@code g−g}, which leave NaN where a
     * gradient overflowed to ±inf.
     */
    public void discardGradients() {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            for (NDArray p : params) {
                p.getGradient().set(new NDIndex("..."), 0f);
            }
        }
    }

    /** Restores the step counter after the moments were overwritten in place from a checkpoint. */
    public void restoreSteps(long steps) {
        this.t = steps;
    }

    /**
     * Scales the gradients so their global L2 norm is at most {@code maxNorm} (torch's {@code clip_grad_norm_}:
     * coefficient max/(norm + 1e-6), capped at 1), then applies one AdamW update and zeroes the gradients.
     *
     * @return the global gradient norm before clipping, as a device scalar registered in the caller's NDScope
     */
    public NDArray step(double maxNorm) {
        t++;
        // Java-number operands are safe here, unlike in the loss: no GradientCollector is open, so autograd
        // keeps no reference to DJL's temporary scalar tensors.
        NDArray totalNorm;
        try (NDScope scope = new NDScope()) {
            List<NDArray> grads = new ArrayList<>(params.size());
            NDList squares = new NDList();
            for (NDArray p : params) {
                NDArray g = p.getGradient();
                grads.add(g);
                squares.add(g.mul(g).sum());
            }
            totalNorm = squares.size() == 1 ? squares.get(0).sqrt() : NDArrays.add(squares.toArray(new NDArray[0])).sqrt();
            NDArray coef = totalNorm.add(1e-6f).pow(-1f).mul((float) maxNorm).minimum(1f);
            double bc1 = 1 - Math.pow(beta1, t);
            double bc2 = 1 - Math.pow(beta2, t);
            float stepSize = (float) (learningRate / bc1);
            float sqrtBc2 = (float) Math.sqrt(bc2);
            for (int i = 0; i < params.size(); i++) {
                NDArray p = params.get(i);
                NDArray g = grads.get(i).mul(coef);
                if (weightDecay != 0) {
                    p.muli((float) (1 - learningRate * weightDecay));
                }
                m.get(i).muli((float) beta1).addi(g.mul((float) (1 - beta1)));
                v.get(i).muli((float) beta2).addi(g.mul(g).mul((float) (1 - beta2)));
                NDArray denom = v.get(i).sqrt().div(sqrtBc2).add((float) epsilon);
                p.subi(m.get(i).div(denom).mul(stepSize));
                grads.get(i).subi(grads.get(i));
            }
            scope.suppressNotUsedWarning();
            NDScope.unregister(totalNorm);
        }
        // hand the norm to the caller's scope (if any) so it is freed with the caller's step
        NDScope.register(totalNorm);
        return totalNorm;
    }

    @Override
    public void close() {
        m.forEach(NDArray::close);
        v.forEach(NDArray::close);
    }
}
