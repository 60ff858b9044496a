package io.salsa.learner.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import io.salsa.model.lm.Precision;
import io.salsa.model.lm.Scalars;
import io.salsa.model.train.AdamW;
import io.salsa.model.train.NonFinitePolicy;
import java.util.List;
import java.util.Optional;

/**
 * Dynamic loss scaling for fp16 mixed precision with {@code torch.cuda.amp.GradScaler}'s rule: the loss is
 * multiplied by a scale S before backward so small float16 gradients do not underflow; the float32 gradients are
 * divided by S before clipping; a step whose gradients hold an inf or NaN is skipped (weights and AdamW state
 * untouched) and S is multiplied by the backoff factor, and after {@code growthInterval} consecutive good steps S
 * is multiplied by the growth factor. S is a float32 (as torch's), so with the default factors 2 and 0.5 it stays
 * an exact power of two. Its state (S, the good-step counter, skipped steps) is checkpointed with the optimiser so a
 * resumed or replayed run scales exactly as the original did.
 *
 * <p>A disabled scaler (float32 training) does not scale, but it still checks the gradients before every optimiser
 * step: in float32 a NaN or inf gradient is not an overflow to back off from but a fault, and applied once it would
 * turn every weight into NaN. Such a step is skipped the same way (weights and AdamW state untouched) and counted,
 * and after {@code max_consecutive_skips} of them in a row the scaler throws {@link NonFiniteGradientsException}:
 * a run that keeps producing them will not recover by itself. Those counters are checkpointed too, so a resumed
 * or replayed run halts exactly where the original would have.
 */
public final class GradScaler {

    private final boolean enabled;
    private final float growthFactor;
    private final float backoffFactor;
    private final int growthInterval;
    private float scale;
    private int growthTracker;
    private long skippedSteps;
    private final int maxConsecutiveSkips;
    private long nonFiniteSkips;
    private int consecutiveNonFinite;

    /**
     * @param enabled        false: {@link #scale} returns the loss unchanged and {@link #step} is a plain AdamW step
     * @param initScale      starting S (torch: 2^16)
     * @param growthFactor   S multiplier after {@code growthInterval} good steps (torch: 2)
     * @param backoffFactor  S multiplier after an overflow (torch: 0.5)
     * @param growthInterval good steps before S grows (torch: 2000)
     */
    public GradScaler(boolean enabled, double initScale, double growthFactor, double backoffFactor, int growthInterval) {
        this(enabled, initScale, growthFactor, backoffFactor, growthInterval,
                NonFinitePolicy.DEFAULT_MAX_CONSECUTIVE_SKIPS);
    }

    /**
     * @param maxConsecutiveSkips float32 steps in a row with a non-finite gradient after which {@link #step}
     *     throws (≥ 1; {@code max_consecutive_skips})
     */
    public GradScaler(boolean enabled, double initScale, double growthFactor, double backoffFactor, int growthInterval,
            int maxConsecutiveSkips) {
        if (maxConsecutiveSkips < 1) {
            throw new IllegalArgumentException("max_consecutive_skips must be >= 1 (got " + maxConsecutiveSkips + ")");
        }
        this.maxConsecutiveSkips = maxConsecutiveSkips;
        this.enabled = enabled;
        this.scale = (float) initScale;
        this.growthFactor = (float) growthFactor;
        this.backoffFactor = (float) backoffFactor;
        this.growthInterval = growthInterval;
    }

    /** Enabled iff {@code mixed_precision=fp16}, with the config's {@code loss_scale_*} settings. */
    public static GradScaler fromConfig(PpoConfig config) {
        return new GradScaler(config.mixedPrecision() == Precision.FP16, config.lossScaleInit(),
                config.lossScaleGrowthFactor(), config.lossScaleBackoffFactor(), config.lossScaleGrowthInterval(),
                config.maxConsecutiveSkips());
    }

    public boolean enabled() {
        return enabled;
    }

    /** The current scale S (1 when disabled). */
    public float lossScale() {
        return enabled ? scale : 1f;
    }

    /** Consecutive good steps since S last changed (torch's {@code _growth_tracker}). */
    public int growthTracker() {
        return growthTracker;
    }

    /** Optimiser steps skipped for an overflow since the run started. */
    public long skippedSteps() {
        return skippedSteps;
    }

    /** Float32 optimiser steps skipped for a non-finite gradient since the run started. */
    public long nonFiniteSkips() {
        return nonFiniteSkips;
    }

    /** Float32 optimiser steps skipped for a non-finite gradient since the last one that was taken. */
    public int consecutiveNonFiniteSkips() {
        return consecutiveNonFinite;
    }

    /** Restores the non-finite counters saved with a checkpoint (0 and 0 for checkpoints written before them). */
    public void restoreNonFinite(long skipped, int consecutive) {
        if (skipped < 0 || consecutive < 0 || consecutive > skipped) {
            throw new IllegalArgumentException("invalid non-finite skip counters: " + skipped + " skipped, "
                    + consecutive + " in a row");
        }
        this.nonFiniteSkips = skipped;
        this.consecutiveNonFinite = consecutive;
    }

    /** Restores the state saved with a checkpoint. */
    public void restore(float lossScale, int growthTracker, long skippedSteps) {
        if (!(lossScale > 0) || Float.isInfinite(lossScale) || growthTracker < 0 || skippedSteps < 0) {
            throw new IllegalArgumentException("invalid loss-scaler state: scale " + lossScale + ", growth tracker "
                    + growthTracker + ", skipped " + skippedSteps);
        }
        this.scale = lossScale;
        this.growthTracker = growthTracker;
        this.skippedSteps = skippedSteps;
    }

    /** {@code loss · S} for backward, with S a tensor constant (safe on the autograd path); the loss itself when disabled. */
    public NDArray scale(NDArray loss) {
        return enabled ? loss.mul(Scalars.of(loss, scale)) : loss;
    }

    /**
     * Divides every gradient by S in place (in float32, with torch's reciprocal {@code (float) (1.0 / S)}) and
     * reports whether any of them holds an inf or NaN, with the training library's non-finite check
     * ({@link NonFinitePolicy#gradientsFinite}). One scalar goes to the host: the overflow flag.
     */
    public boolean unscale(List<NDArray> params) {
        float inverse = (float) (1.0 / scale);
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            for (NDArray p : params) {
                // no GradientCollector is open here, so Java-number operands are safe (see AdamW)
                p.getGradient().muli(inverse);
            }
        }
        return !NonFinitePolicy.gradientsFinite(params);
    }

    /** torch's {@code _amp_update_scale_}: back off on overflow, grow after {@code growthInterval} good steps. */
    public void update(boolean foundInf) {
        if (foundInf) {
            scale = scale * backoffFactor;
            growthTracker = 0;
            skippedSteps++;
            return;
        }
        int successful = growthTracker + 1;
        if (successful == growthInterval) {
            float grown = scale * growthFactor;
            if (Float.isFinite(grown)) {
                scale = grown;
            }
            growthTracker = 0;
        } else {
            growthTracker = successful;
        }
    }

    /**
     * One optimiser step on gradients computed from {@link #scale}d losses: unscale, check, then either clip and
     * update with AdamW or discard the gradients, and update S.
     *
     * @param lr          the learning rate of this update
     * @param maxGradNorm the global gradient-norm clip
     * @return the global gradient norm before clipping (a device scalar in the caller's scope), or empty when the
     *     step was skipped for an overflow (fp16) or a non-finite gradient (float32; see {@link #nonFiniteSkips})
     * @throws NonFiniteGradientsException when this is the {@code max_consecutive_skips}-th float32 step in a row
     *     with a non-finite gradient (its gradients are discarded first)
     */
    public Optional<NDArray> step(AdamW optimizer, double lr, double maxGradNorm) {
        if (!enabled) {
            // one scalar to the host per optimiser step, as the fp16 path's overflow flag
            if (!NonFinitePolicy.gradientsFinite(optimizer.parameters())) {
                optimizer.discardGradients();
                nonFiniteSkips++;
                consecutiveNonFinite++;
                if (consecutiveNonFinite >= maxConsecutiveSkips) {
                    throw new NonFiniteGradientsException(consecutiveNonFinite, maxConsecutiveSkips, lr);
                }
                return Optional.empty();
            }
            consecutiveNonFinite = 0;
            return Optional.of(optimizer.clipAndStep(lr, maxGradNorm));
        }
        boolean overflow = unscale(optimizer.parameters());
        Optional<NDArray> norm;
        if (overflow) {
            optimizer.discardGradients();
            norm = Optional.empty();
        } else {
            norm = Optional.of(optimizer.clipAndStep(lr, maxGradNorm));
        }
        update(overflow);
        return norm;
    }

    /** Too many float32 optimiser steps in a row had a non-finite gradient: training must stop. */
    public static final class NonFiniteGradientsException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        /** @param consecutive skips in a row; @param max the limit; @param lr the learning rate, named in the advice */
        public NonFiniteGradientsException(int consecutive, int max, double lr) {
            super(consecutive + " optimiser steps in a row had a non-finite (NaN or inf) gradient and were skipped "
                    + "(max_consecutive_skips=" + max + "); the weights and optimiser state are those from before "
                    + "them. The run will not recover by itself: lower learning_rate (now " + lr
                    + ") or max_grad_norm, or look for extreme rewards");
        }
    }
}
