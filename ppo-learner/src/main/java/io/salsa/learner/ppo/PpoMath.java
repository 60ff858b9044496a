package io.salsa.learner.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.salsa.model.lm.Scalars;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The PPO maths as small pure functions on {@link NDArray}s, named and defined as in TRL's {@code PPOTrainer}
 * (and OpenRLHF where TRL has no equivalent), so a GPU step keeps every tensor on the device.
 *
 * <p>Conventions: per-token arrays are {@code [batch, responseLength]} float32, right-padded; a {@code mask}
 * is float32 with 1 on real response tokens and 0 on padding. Every result is a new array attached to the
 * manager of the first input, so the caller owns the lifetime through its step scope. Nothing here does I/O.
 *
 * <p>Constants are {@link Scalars} tensors, never Java numbers: DJL's {@code mul(Number)} and friends hand
 * autograd a tensor over a Java buffer that the garbage collector may free before backward (NaN gradients).
 */
public final class PpoMath {

    /** Added to the variance before the square root, as TRL does, so a constant input whitens to zero. */
    public static final double WHITEN_EPS = 1e-8;

    private PpoMath() {}

    /** Mean of {@code values} over the positions where {@code mask} is 1; a scalar. */
    public static NDArray maskedMean(NDArray values, NDArray mask) {
        return values.mul(mask).sum().div(mask.sum());
    }

    /** Mean over {@code axis} of the masked positions (for example the per-sequence mean along axis 1). */
    public static NDArray maskedMean(NDArray values, NDArray mask, int axis) {
        return values.mul(mask).sum(new int[] {axis}).div(mask.sum(new int[] {axis}));
    }

    /**
     * Variance of the masked positions; unbiased (Bessel's correction n/(n-1)) like TRL's {@code masked_var}.
     * With a single real position the correction is undefined: TRL computes 0·(1/0) = NaN there, which would
     * poison every advantage of the step, so this returns the variance of that one value about itself, 0 (and
     * {@link #maskedWhiten} then whitens it to 0, as it does any constant input).
     *
     * @throws IllegalArgumentException when the mask selects no position at all (TRL raises there too)
     */
    public static NDArray maskedVar(NDArray values, NDArray mask, boolean unbiased) {
        NDArray mean = maskedMean(values, mask);
        NDArray centered = values.sub(mean);
        NDArray variance = maskedMean(centered.mul(centered), mask);
        if (!unbiased) {
            return variance;
        }
        double n = mask.sum().toType(DataType.FLOAT64, false).getDouble();
        if (!(n > 0)) {
            throw new IllegalArgumentException("masked variance of an empty mask: no unmasked values");
        }
        if (n < 2) {
            // one value: its mean is itself, so the (biased) variance is exactly 0; Bessel's factor 1/0 is not used
            return variance.zerosLike();
        }
        return variance.mul(Scalars.of(variance, n / (n - 1)));
    }

    /**
     * Whitens the masked positions to mean 0 and variance 1; with {@code shiftMean=false} the mean is added back
     * (TRL uses that for rewards so their sign survives). Padded positions are not zeroed: callers that need it
     * multiply by the mask, as TRL's {@code masked_fill} does.
     */
    public static NDArray maskedWhiten(NDArray values, NDArray mask, boolean shiftMean) {
        NDArray mean = maskedMean(values, mask);
        NDArray var = maskedVar(values, mask, true);
        NDArray whitened = values.sub(mean).div(var.add(Scalars.of(var, WHITEN_EPS)).sqrt());
        return shiftMean ? whitened : whitened.add(mean);
    }

    /**
     * Per-token KL estimate of π_θ ‖ π_ref from the sampled tokens' log-probs (Schulman's estimators):
     * k1 = log π − log π_ref (unbiased, can be negative), k2 = ½(log π − log π_ref)² and
     * k3 = (r − 1) − log r with r = π_ref/π (unbiased, never negative).
     */
    public static NDArray kl(NDArray logprobs, NDArray refLogprobs, KlEstimator estimator) {
        return switch (estimator) {
            case K1 -> k1(logprobs, refLogprobs);
            case K2 -> k2(logprobs, refLogprobs);
            case K3 -> k3(logprobs, refLogprobs);
        };
    }

    /** k1 = log π − log π_ref. */
    public static NDArray k1(NDArray logprobs, NDArray refLogprobs) {
        return logprobs.sub(refLogprobs);
    }

    /** k2 = ½ (log π − log π_ref)². */
    public static NDArray k2(NDArray logprobs, NDArray refLogprobs) {
        NDArray d = logprobs.sub(refLogprobs);
        return d.mul(d).mul(Scalars.of(d, 0.5));
    }

    /** k3 = (exp(log π_ref − log π) − 1) − (log π_ref − log π). */
    public static NDArray k3(NDArray logprobs, NDArray refLogprobs) {
        NDArray logr = refLogprobs.sub(logprobs);
        return logr.exp().sub(Scalars.of(logr, 1)).sub(logr);
    }

    /**
     * One-hot of each row's last real token: the position with {@code mask[t]=1} and no real token after it. A mask
     * with a gap (a multi-turn response whose tool or user turns are masked out) has several 1→0 drops but one last
     * token, so the score lands once, as TRL's {@code sequence_lengths} puts it. A fully padded row gets a zero row.
     */
    public static NDArray lastTokenMask(NDArray mask) {
        // real tokens after t = row total − inclusive prefix sum at t; exact in float32 for any realistic length
        NDArray after = mask.sum(new int[] {1}, true).sub(mask.cumSum(1));
        return mask.mul(after.lt(Scalars.of(after, 0.5)).toType(mask.getDataType(), false));
    }

    /**
     * Scores after the optional missing-EOS penalty: TRL subtracts {@code missing_eos_penalty} from the score
     * of every response that did not end with EOS (a response cut at the length limit).
     *
     * @param scores reward-model scores, {@code [batch]}
     * @param containsEos 1 for responses that ended with EOS, else 0, {@code [batch]}
     */
    public static NDArray penalizeMissingEos(NDArray scores, NDArray containsEos, double missingEosPenalty) {
        if (missingEosPenalty == 0) {
            return scores.duplicate();
        }
        return scores.sub(containsEos.neg().add(Scalars.of(scores, 1)).mul(Scalars.of(scores, missingEosPenalty)));
    }

    /**
     * Per-token rewards r_t = −β·KL_t on real tokens plus the sequence score at the last real token, as in TRL
     * ({@code non_score_reward} + score at {@code sequence_lengths}); padding gets 0.
     *
     * @param kl per-token KL estimates {@code [batch, T]}
     * @param scores sequence scores {@code [batch]} (after any missing-EOS penalty)
     */
    public static NDArray perTokenRewards(NDArray kl, NDArray scores, NDArray mask, double klCoef) {
        NDArray nonScore = kl.mul(Scalars.of(kl, -klCoef)).mul(mask);
        NDArray atLast = lastTokenMask(mask).mul(scores.expandDims(1));
        return nonScore.add(atLast);
    }

    /**
     * TRL's {@code whiten_rewards}: whiten the rewards without shifting their mean and zero the padding.
     */
    public static NDArray whitenRewards(NDArray rewards, NDArray mask) {
        return maskedWhiten(rewards, mask, false).mul(mask);
    }

    /**
     * Generalised advantage estimation (Schulman et al. 2016) exactly as TRL's loop: δ_t = r_t + γ V_{t+1} − V_t,
     * A_t = δ_t + γλ A_{t+1}, with V and r zero on padding and V after the last position 0; returns = A + V.
     * Advantages are not whitened here (see {@link #maskedWhiten}).
     *
     * @return advantages and returns, both {@code [batch, T]}, zero on padding
     */
    public static Gae gae(NDArray rewards, NDArray values, NDArray mask, double gamma, double lam) {
        NDArray r = rewards.mul(mask);
        NDArray v = values.mul(mask);
        long length = r.getShape().get(1);
        NDArray gammaT = Scalars.of(r, gamma);
        NDArray gammaLamT = Scalars.of(r, gamma * lam);
        List<NDArray> reversed = new ArrayList<>((int) length);
        NDArray lastGaeLam = null;
        for (long t = length - 1; t >= 0; t--) {
            NDArray vt = v.get(new NDIndex(":, {}", t));
            NDArray delta = r.get(new NDIndex(":, {}", t)).sub(vt);
            if (t < length - 1) {
                delta = delta.add(v.get(new NDIndex(":, {}", t + 1)).mul(gammaT));
            }
            lastGaeLam = lastGaeLam == null ? delta : delta.add(lastGaeLam.mul(gammaLamT));
            reversed.add(lastGaeLam);
        }
        Collections.reverse(reversed);
        NDArray advantages = NDArrays.stack(new NDList(reversed), 1).mul(mask);
        NDArray returns = advantages.add(v).mul(mask);
        return new Gae(advantages, returns);
    }

    /** Advantages and returns from {@link #gae}. */
    public record Gae(NDArray advantages, NDArray returns) {}

    /** TRL's advantage post-processing: whiten over the real tokens, then zero the padding. */
    public static NDArray whitenAdvantages(NDArray advantages, NDArray mask) {
        return maskedWhiten(advantages, mask, true).mul(mask);
    }

    /**
     * Truncated importance weights for off-policy rollouts: w_t = min(exp(log π_old − log π_behaviour), cap),
     * with π_old the learner's own log-probs at the start of the step and π_behaviour the generator's; detached
     * by construction (the inputs are gradient-free). OpenRLHF's and verl's truncated IS applies them as a
     * per-token factor on the policy loss.
     */
    public static NDArray truncatedImportanceWeights(NDArray oldLogprobs, NDArray behaviourLogprobs, double cap) {
        NDArray w = oldLogprobs.sub(behaviourLogprobs).exp();
        return NDArrays.minimum(w, Scalars.of(w, cap));
    }

    /**
     * PPO's clipped surrogate (TRL): max(−A·ρ, −A·clip(ρ, 1−ε, 1+ε)) with ρ = exp(log π_new − log π_old),
     * optionally weighted per token by truncated importance weights, averaged over the real tokens.
     *
     * @param importanceWeights per-token weights or {@code null} for none
     */
    public static PolicyLoss clippedPolicyLoss(NDArray newLogprobs, NDArray oldLogprobs, NDArray advantages,
            NDArray mask, double cliprange, NDArray importanceWeights) {
        return clippedPolicyLoss(newLogprobs, oldLogprobs, advantages, mask, cliprange, cliprange, 0,
                LossAgg.TOKEN_MEAN, importanceWeights);
    }

    /**
     * The clipped surrogate with OpenRLHF's options: per token l = −min(A·ρ, A·clip(ρ, 1−ε_low, 1+ε_high))
     * (asymmetric "clip-higher" when ε_high &gt; ε_low); with dual clip c &gt; 1 a token with A &lt; 0 has
     * l = −max(min(A·ρ, A·clip(ρ, …)), c·A), so its loss is at most c·|A| however large ρ grows; then the optional
     * importance weight, then {@code agg}. With ε_low = ε_high = ε, no dual clip and token mean this is exactly
     * {@link #clippedPolicyLoss(NDArray, NDArray, NDArray, NDArray, double, NDArray)} (same operations).
     *
     * @param dualClip c &gt; 1, or 0 for off
     * @param importanceWeights per-token weights or {@code null} for none
     */
    public static PolicyLoss clippedPolicyLoss(NDArray newLogprobs, NDArray oldLogprobs, NDArray advantages,
            NDArray mask, double clipLow, double clipHigh, double dualClip, LossAgg agg, NDArray importanceWeights) {
        NDArray logRatio = newLogprobs.sub(oldLogprobs);
        NDArray ratio = logRatio.exp();
        NDArray negAdv = advantages.neg();
        NDArray losses1 = negAdv.mul(ratio);
        NDArray clippedRatio = NDArrays.minimum(
                NDArrays.maximum(ratio, Scalars.of(ratio, 1.0 - clipLow)), Scalars.of(ratio, 1.0 + clipHigh));
        NDArray losses2 = negAdv.mul(clippedRatio);
        NDArray lossMax = NDArrays.maximum(losses1, losses2);
        if (dualClip > 0) {
            // −max(min(surr1, surr2), c·A) = min(lossMax, −c·A), applied only where A < 0 (OpenRLHF's torch.where)
            NDArray capped = NDArrays.minimum(lossMax, negAdv.mul(Scalars.of(negAdv, dualClip)));
            lossMax = NDArrays.where(advantages.lt(Scalars.of(advantages, 0)), capped, lossMax);
        }
        if (importanceWeights != null) {
            lossMax = lossMax.mul(importanceWeights);
        }
        NDArray loss = agg == LossAgg.SEQ_MEAN ? sequenceMean(lossMax, mask) : maskedMean(lossMax, mask);
        NDArray clipfrac = maskedMean(losses2.gt(losses1).toType(DataType.FLOAT32, false), mask);
        NDArray approxKl = logRatio.mul(logRatio).mul(mask).sum().div(mask.sum()).mul(Scalars.of(logRatio, 0.5));
        NDArray meanRatio = maskedMean(ratio, mask);
        return new PolicyLoss(loss, clipfrac, approxKl, meanRatio);
    }

    /**
     * Mean over each row's real tokens, then over the rows that have at least one (a fully padded row would be
     * 0/0 and is left out rather than poisoning the mean); a scalar.
     */
    public static NDArray sequenceMean(NDArray values, NDArray mask) {
        NDArray counts = mask.sum(new int[] {1});
        NDArray one = Scalars.of(counts, 1);
        NDArray rowMeans = values.mul(mask).sum(new int[] {1}).div(NDArrays.maximum(counts, one));
        NDArray hasTokens = counts.gt(Scalars.of(counts, 0)).toType(counts.getDataType(), false);
        return rowMeans.mul(hasTokens).sum().div(NDArrays.maximum(hasTokens.sum(), one));
    }

    /**
     * Policy loss with its no-grad diagnostics: {@code policy/clipfrac_avg}, {@code policy/approxkl_avg}
     * (½·mean(log ρ)² over real tokens, TRL's definition) and {@code val/ratio}.
     */
    public record PolicyLoss(NDArray loss, NDArray clipfrac, NDArray approxKl, NDArray ratio) {}

    /**
     * PPO's clipped value loss (TRL): ½·mean(max((V−R)², (clip(V, V_old−ε_v, V_old+ε_v)−R)²)) over real tokens,
     * not yet multiplied by {@code vf_coef}.
     */
    public static ValueLoss clippedValueLoss(NDArray newValues, NDArray oldValues, NDArray returns, NDArray mask,
            double cliprangeValue) {
        NDArray eps = Scalars.of(oldValues, cliprangeValue);
        NDArray clipped = NDArrays.minimum(NDArrays.maximum(newValues, oldValues.sub(eps)), oldValues.add(eps));
        NDArray d1 = newValues.sub(returns);
        NDArray d2 = clipped.sub(returns);
        NDArray losses1 = d1.mul(d1);
        NDArray losses2 = d2.mul(d2);
        NDArray loss = maskedMean(NDArrays.maximum(losses1, losses2), mask).mul(Scalars.of(losses1, 0.5));
        NDArray clipfrac = maskedMean(losses2.gt(losses1).toType(DataType.FLOAT32, false), mask);
        return new ValueLoss(loss, clipfrac);
    }

    /** Value loss and {@code val/clipfrac_avg}. */
    public record ValueLoss(NDArray loss, NDArray clipfrac) {}

    /** Entropy of the categorical distribution of each row of logits (last axis): logsumexp(z) − Σ softmax(z)·z. */
    public static NDArray entropyFromLogits(NDArray logits) {
        NDArray logp = logits.logSoftmax(-1);
        return logp.exp().mul(logp).sum(new int[] {-1}).neg();
    }

    /**
     * Log-probabilities of the chosen tokens under {@code logits} ({@code [batch, T, vocab]}, already divided by
     * the sampling temperature) for {@code tokens} ({@code [batch, T]} int): TRL's {@code logprobs_from_logits}.
     */
    public static NDArray logprobsFromLogits(NDArray logits, NDArray tokens) {
        NDArray logp = logits.logSoftmax(-1);
        return logp.gather(tokens.toType(DataType.INT64, false).expandDims(-1), -1).squeeze(-1);
    }

    /** Sum over each row's real tokens, averaged over the batch: TRL's {@code x.sum(1).mean()} for sequence KL. */
    public static NDArray sequenceSumMean(NDArray perToken, NDArray mask) {
        return perToken.mul(mask).sum(new int[] {1}).mean();
    }
}
