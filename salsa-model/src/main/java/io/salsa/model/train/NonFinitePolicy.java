package io.salsa.model.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The one policy for non-finite values in training, so SFT, pretraining, the reward model and PPO do not each
 * invent their own: a step whose loss or gradient is not finite is skipped without touching the weights or the
 * optimiser state (a NaN gradient applied once would turn every weight into NaN), it is counted, and after
 * {@code maxConsecutiveSkips} skips in a row training halts with {@link NonFiniteTrainingException}, since a run
 * that keeps producing them will not recover by itself. The checks are static so the PPO step, which has its own
 * loop and loss scaler, uses the same ones.
 */
public final class NonFinitePolicy {

    /** Skips in a row after which training halts, unless configured otherwise. */
    public static final int DEFAULT_MAX_CONSECUTIVE_SKIPS = 3;

    private final int maxConsecutiveSkips;
    private long skipped;
    private int consecutive;

    /** @param maxConsecutiveSkips skips in a row that halt training (≥ 1) */
    public NonFinitePolicy(int maxConsecutiveSkips) {
        if (maxConsecutiveSkips < 1) {
            throw new IllegalArgumentException("max consecutive non-finite steps must be >= 1, got "
                    + maxConsecutiveSkips);
        }
        this.maxConsecutiveSkips = maxConsecutiveSkips;
    }

    /** Whether a step with this loss and global gradient norm may update the weights. */
    public static boolean finite(double loss, double gradNorm) {
        return Double.isFinite(loss) && Double.isFinite(gradNorm);
    }

    /**
     * Whether every gradient of {@code params} is finite, decided on the device with one scalar sent to the host:
     * {@code g·0} is 0 for a finite g and NaN for ±inf or NaN, so the sum of all of them is NaN exactly when some
     * gradient is not finite. Call outside a GradientCollector.
     */
    public static boolean gradientsFinite(List<NDArray> params) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDList probes = new NDList();
            for (NDArray p : params) {
                probes.add(p.getGradient().mul(0f).sum());
            }
            NDArray total = probes.size() == 1 ? probes.get(0) : NDArrays.add(probes.toArray(new NDArray[0]));
            return !Float.isNaN(total.getFloat());
        }
    }

    /** Records a step that updated the weights: the run of skips is over. */
    public void taken() {
        consecutive = 0;
    }

    /**
     * Records a skipped step (the caller has already discarded its gradients) and reports it on {@code progress}.
     *
     * @param step     1-based number of the step, for the messages
     * @param loss     its loss
     * @param gradNorm its global gradient norm (NaN if not computed)
     * @param lr       the learning rate of the run, named in the message when training halts
     * @throws NonFiniteTrainingException when this is the {@code maxConsecutiveSkips}-th skip in a row
     */
    public void skipped(long step, double loss, double gradNorm, double lr, Consumer<String> progress) {
        skipped++;
        consecutive++;
        progress.accept(String.format(Locale.ROOT, "step %d: loss %s, gradient norm %s: step skipped (%d so far)",
                step, loss, gradNorm, skipped));
        if (consecutive >= maxConsecutiveSkips) {
            throw new NonFiniteTrainingException(String.format(Locale.ROOT,
                    "training halted at step %d: %d steps in a row had a non-finite loss or gradient (loss %s, "
                            + "gradient norm %s) and were skipped; lower the learning rate (--lr, now %s)",
                    step, consecutive, loss, gradNorm, lr));
        }
    }

    /** Steps skipped so far. */
    public long skippedSteps() {
        return skipped;
    }

    /** Skips since the last step that was taken. */
    public int consecutiveSkips() {
        return consecutive;
    }

    /** Skips in a row that halt training. */
    public int maxConsecutiveSkips() {
        return maxConsecutiveSkips;
    }

    /** Training stopped because too many steps in a row had a non-finite loss or gradient. */
    public static final class NonFiniteTrainingException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        NonFiniteTrainingException(String message) {
            super(message);
        }
    }
}
