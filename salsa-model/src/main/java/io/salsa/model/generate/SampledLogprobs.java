package io.salsa.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.salsa.model.lm.Scalars;

/**
 * Log-probs of given tokens under the distribution {@link TokenSampler} samples from (logits divided by the
 * temperature, cut to top-k and top-p, renormalised), computed on the device and differentiable in the logits, so a
 * learner can recompute for its current weights exactly the quantity a generator recorded as its behaviour log-prob.
 *
 * <p>The cut is the sampler's: rank the row's tempered probabilities in descending order and keep rank r when r &lt;
 * top-k (0 = off) and the probability mass ranked before it is &lt; top-p (1 = off). Here it is applied as a
 * threshold (every token at least as likely as the last kept one is kept), which differs from the sampler only when
 * tokens tie exactly at the cut. The given token is always kept as well: on-policy it is inside the cut anyway (the
 * sampler never picks anything else), so the value is unchanged; for other weights it keeps the log-prob finite,
 * where a token outside the cut would have probability 0 and its ratio would be undefined. The cut itself is a
 * selection and carries no gradient; the log-prob is differentiable in the logits of the kept tokens.
 */
public final class SampledLogprobs {

    private SampledLogprobs() {
    }

    /** Whether sampling with these settings cuts the distribution (top-k below the vocabulary, or top-p below 1). */
    public static boolean truncates(int topK, double topP, int vocab) {
        return topK > 0 && topK < vocab || topP < 1;
    }

    /**
     * Log-probs of {@code tokens} under the sampling distribution of each row.
     *
     * @param logits      raw logits {@code [N, V]}; may record gradients
     * @param tokens      token ids {@code [N]} (int64)
     * @param temperature per row, &gt; 0
     * @param topK        per row, 0 = off
     * @param topP        per row, in (0, 1], 1 = off
     * @return {@code [N]} log-probs, in the dtype of {@code logits}
     */
    public static NDArray of(NDArray logits, NDArray tokens, float[] temperature, int[] topK, float[] topP) {
        Shape shape = logits.getShape();
        if (shape.dimension() != 2) {
            throw new IllegalArgumentException("logits must be [N, V], got " + shape);
        }
        int n = Math.toIntExact(shape.get(0));
        int vocab = Math.toIntExact(shape.get(1));
        if (temperature.length != n || topK.length != n || topP.length != n) {
            throw new IllegalArgumentException("sampling settings for " + temperature.length + "/" + topK.length
                    + "/" + topP.length + " rows, logits have " + n);
        }
        NDManager manager = logits.getManager();
        boolean allOne = true;
        boolean anyCut = false;
        float[] pLimit = new float[n];
        float[] kLimit = new float[n];
        for (int i = 0; i < n; i++) {
            if (!(temperature[i] > 0) || !Float.isFinite(temperature[i])) {
                throw new IllegalArgumentException("row " + i + ": temperature must be finite and > 0, got "
                        + temperature[i]);
            }
            allOne &= temperature[i] == 1f;
            anyCut |= truncates(topK[i], topP[i], vocab);
            // top-p = 1 is "off", not "mass before < 1": float32 cumulative sums reach 1 before the tail ends
            pLimit[i] = topP[i] >= 1 ? Float.POSITIVE_INFINITY : topP[i];
            kLimit[i] = topK[i] > 0 ? Math.min(topK[i], vocab) : vocab;
        }
        NDArray index = tokens.reshape(n, 1);
        NDArray scaled = allOne ? logits
                : logits.div(manager.create(temperature, new Shape(n, 1)).toType(logits.getDataType(), false));
        if (!anyCut) {
            return scaled.logSoftmax(-1).gather(index, 1).reshape(n);
        }
        // the cut, without gradient, in float32 whatever the model's precision
        NDArray logp = scaled.stopGradient().toType(DataType.FLOAT32, false).logSoftmax(-1);
        NDArray sorted = logp.neg().sort(-1).neg();
        NDArray probs = sorted.exp();
        NDArray massBefore = probs.cumSum(-1).sub(probs);
        NDArray rank = manager.arange(0f, (float) vocab).reshape(1, vocab);
        NDArray keptSorted = massBefore.lt(manager.create(pLimit, new Shape(n, 1)))
                .logicalAnd(rank.lt(manager.create(kLimit, new Shape(n, 1))));
        // rank 0 is always kept (mass before it is 0 < top-p, and top-k >= 1), so the count is >= 1
        NDArray lastKept = keptSorted.toType(DataType.INT64, false).sum(new int[] {1}, true).sub(1);
        NDArray threshold = sorted.gather(lastKept, 1);
        NDArray isToken = manager.arange(0, vocab, 1, DataType.INT64).reshape(1, vocab).eq(index);
        NDArray keep = logp.gte(threshold).logicalOr(isToken);
        NDArray masked = NDArrays.where(keep, scaled, Scalars.of(scaled, Double.NEGATIVE_INFINITY));
        return masked.logSoftmax(-1).gather(index, 1).reshape(n);
    }
}
