package io.salsa.scorer.rm;

import ai.djl.ndarray.NDArray;
import io.salsa.model.lm.Scalars;
import io.salsa.model.train.LmLoss;

/**
 * The Bradley–Terry preference loss and its metrics, free of any I/O: P(chosen ≻ rejected) = σ(r_c − r_r).
 *
 * <p>Ties are handled explicitly with a soft target: the loss is the binary cross-entropy between σ(d) and a
 * target y, {@code y·softplus(−d) + (1−y)·softplus(d)} with d = r_a − r_b. A strict preference has y = 1
 * (exactly −log σ(r_chosen − r_rejected)); a tie has y = ½, which is symmetric in the two responses and
 * minimised at d = 0, so a tie pulls the two rewards together instead of being dropped or forced apart.
 *
 * <p>The tensor loss takes no Java-number operand ({@code add(1f)}, {@code maximum(0f)} …): DJL 0.36 wraps such a
 * number in a tensor over a Java buffer that it frees after the op while autograd still holds it, which gave
 * random NaN gradients. Constants come from {@link Scalars} instead (see salsa-model's README, "DJL pitfalls").
 */
public final class BradleyTerry {

    /** Target of a strict preference. */
    public static final float PREFERRED = 1f;
    /** Target of a tie. */
    public static final float TIE = 0.5f;

    private BradleyTerry() {
    }

    /** Mean loss over pairs: {@code first}, {@code second} and {@code target} are [P]. */
    public static NDArray loss(NDArray first, NDArray second, NDArray target) {
        NDArray d = first.sub(second);
        NDArray oneMinus = Scalars.of(target, 1).sub(target);
        return target.mul(LmLoss.softplus(d.neg())).add(oneMinus.mul(LmLoss.softplus(d))).mean();
    }

    /** The same loss for one pair, in double precision (evaluation and tests). */
    public static double loss(double first, double second, double target) {
        double d = first - second;
        return target * LmLoss.softplus(-d) + (1 - target) * LmLoss.softplus(d);
    }

    /**
     * Pairwise accuracy over strict preferences: the share of pairs whose chosen response gets the higher
     * reward (a draw counts half). Ties have no right answer and are skipped; NaN when there is no strict pair.
     */
    public static double accuracy(float[] chosen, float[] rejected, boolean[] tie) {
        double right = 0;
        int n = 0;
        for (int i = 0; i < chosen.length; i++) {
            if (tie[i]) {
                continue;
            }
            n++;
            if (chosen[i] > rejected[i]) {
                right += 1;
            } else if (chosen[i] == rejected[i]) {
                right += 0.5;
            }
        }
        return n == 0 ? Double.NaN : right / n;
    }
}
