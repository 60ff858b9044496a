package io.salsa.learner.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/** Hand-computed cases for every PPO function; the expected numbers are worked out in the comments. */
class PpoMathTest {

    private static final float EPS = 1e-5f;
    /** Every array of one test; JUnit closes it after the test. */
    @AutoClose
    private final NDManager manager = NDManager.newBaseManager();

    private NDArray rows(float[][] data) {
        int cols = data[0].length;
        float[] flat = new float[data.length * cols];
        for (int i = 0; i < data.length; i++) {
            System.arraycopy(data[i], 0, flat, i * cols, cols);
        }
        return manager.create(flat, new Shape(data.length, cols));
    }

    private static float scalar(NDArray a) {
        return a.toFloatArray()[0];
    }

    @Test
    void maskedMeanIgnoresPadding() {
        NDArray values = rows(new float[][] {{1, 2, 3, 100}});
        NDArray mask = rows(new float[][] {{1, 1, 1, 0}});
        assertEquals(2.0f, scalar(PpoMath.maskedMean(values, mask)), EPS);
        assertArrayEquals(new float[] {2.0f}, PpoMath.maskedMean(values, mask, 1).toFloatArray(), EPS);
    }

    @Test
    void maskedVarIsUnbiasedLikeTrl() {
        // values 1,2,3,4: mean 2.5, squared deviations 2.25+0.25+0.25+2.25 = 5; biased 5/4, unbiased 5/3
        NDArray values = rows(new float[][] {{1, 2, 3, 4}});
        NDArray mask = rows(new float[][] {{1, 1, 1, 1}});
        assertEquals(1.25f, scalar(PpoMath.maskedVar(values, mask, false)), EPS);
        assertEquals(5f / 3f, scalar(PpoMath.maskedVar(values, mask, true)), EPS);
        NDArray none = rows(new float[][] {{0, 0, 0, 0}});
        assertThrows(IllegalArgumentException.class, () -> PpoMath.maskedVar(values, none, true));
    }

    @Test
    void maskedVarOfASingleRealTokenIsZeroNotAnError() {
        // one real value: its variance about its own mean is 0; TRL's Bessel factor 1/(1-1) would make it NaN
        NDArray values = rows(new float[][] {{7, 2, 3, 4}});
        NDArray one = rows(new float[][] {{1, 0, 0, 0}});
        assertEquals(0f, scalar(PpoMath.maskedVar(values, one, true)), 0f);
        assertEquals(0f, scalar(PpoMath.maskedVar(values, one, false)), 0f);
        // whitening a batch with one real token gives a finite 0 there, padding stays 0
        assertArrayEquals(new float[] {0, 0, 0, 0}, PpoMath.whitenAdvantages(values, one).toFloatArray(), 0f);
        // rewards keep their mean: the one value survives
        assertArrayEquals(new float[] {7, 0, 0, 0}, PpoMath.whitenRewards(values, one).toFloatArray(), EPS);
    }

    @Test
    void maskedWhitenCentresAndScales() {
        // std = sqrt(5/3) = 1.2909944; (x - 2.5)/std
        NDArray values = rows(new float[][] {{1, 2, 3, 4}});
        NDArray mask = rows(new float[][] {{1, 1, 1, 1}});
        assertArrayEquals(new float[] {-1.1618950f, -0.3872983f, 0.3872983f, 1.1618950f},
                PpoMath.maskedWhiten(values, mask, true).toFloatArray(), EPS);
        // 0,2,4: mean 2, unbiased var 4, std 2 -> -1,0,1, mean added back -> 1,2,3
        NDArray v2 = rows(new float[][] {{0, 2, 4}});
        NDArray m2 = rows(new float[][] {{1, 1, 1}});
        assertArrayEquals(new float[] {1, 2, 3}, PpoMath.maskedWhiten(v2, m2, false).toFloatArray(), EPS);
    }

    @Test
    void whitenAdvantagesZeroesPadding() {
        // real 1,2,3: mean 2, unbiased var 1 -> -1,0,1; the padded 100 becomes 0
        NDArray values = rows(new float[][] {{1, 2, 3, 100}});
        NDArray mask = rows(new float[][] {{1, 1, 1, 0}});
        assertArrayEquals(new float[] {-1, 0, 1, 0}, PpoMath.whitenAdvantages(values, mask).toFloatArray(), EPS);
    }

    @Test
    void klEstimatorsMatchTheirDefinitions() {
        NDArray lp = rows(new float[][] {{-1.0f, -2.0f}});
        NDArray ref = rows(new float[][] {{-1.5f, -1.0f}});
        // k1 = lp - ref
        assertArrayEquals(new float[] {0.5f, -1.0f}, PpoMath.k1(lp, ref).toFloatArray(), EPS);
        // k2 = 0.5 (lp - ref)^2
        assertArrayEquals(new float[] {0.125f, 0.5f}, PpoMath.k2(lp, ref).toFloatArray(), EPS);
        // logr = ref - lp = -0.5, 1.0; k3 = e^logr - 1 - logr = 0.6065307-1+0.5, 2.7182818-1-1
        assertArrayEquals(new float[] {0.1065307f, 0.7182818f}, PpoMath.k3(lp, ref).toFloatArray(), EPS);
        assertArrayEquals(PpoMath.k3(lp, ref).toFloatArray(),
                PpoMath.kl(lp, ref, KlEstimator.K3).toFloatArray(), 0f);
    }

    @Test
    void lastTokenMaskFindsTheLastRealToken() {
        NDArray mask = rows(new float[][] {{1, 1, 0}, {1, 1, 1}, {0, 0, 0}});
        assertArrayEquals(new float[] {0, 1, 0, 0, 0, 1, 0, 0, 0},
                PpoMath.lastTokenMask(mask).toFloatArray(), 0f);
    }

    @Test
    void aMaskWithAGapHasOneLastToken() {
        // multi-turn: tokens 0-1 real, 2-3 masked (another turn), 4 real, 5 padding -> the last real token is 4;
        // a row that starts with masked positions and a one-token row are handled alike
        NDArray mask = rows(new float[][] {{1, 1, 0, 0, 1, 0}, {0, 1, 0, 1, 1, 1}, {1, 0, 0, 0, 0, 0}});
        assertArrayEquals(new float[] {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0},
                PpoMath.lastTokenMask(mask).toFloatArray(), 0f);
    }

    @Test
    void aGappedMaskAddsTheScoreOnce() {
        // -0.1 * kl on the real tokens 0, 1, 3; the score 3 lands on token 3 only (not also on token 1)
        NDArray kl = rows(new float[][] {{0.5f, -1.0f, 0.2f, 1.0f}});
        NDArray mask = rows(new float[][] {{1, 1, 0, 1}});
        NDArray scores = manager.create(new float[] {3f});
        NDArray rewards = PpoMath.perTokenRewards(kl, scores, mask, 0.1);
        assertArrayEquals(new float[] {-0.05f, 0.1f, 0f, 2.9f}, rewards.toFloatArray(), EPS);
        // the rewards sum to score − β·ΣKL exactly once: 3 − 0.1·(0.5 − 1 + 1) = 2.95
        assertEquals(2.95f, scalar(rewards.sum()), EPS);
    }

    @Test
    void perTokenRewardsPutTheScoreOnTheLastRealToken() {
        // -0.1 * [0.5, -1.0] = [-0.05, 0.1]; score 3 lands on token 1; padding 0
        NDArray kl = rows(new float[][] {{0.5f, -1.0f, 0.2f}});
        NDArray mask = rows(new float[][] {{1, 1, 0}});
        NDArray scores = manager.create(new float[] {3f});
        assertArrayEquals(new float[] {-0.05f, 3.1f, 0f},
                PpoMath.perTokenRewards(kl, scores, mask, 0.1).toFloatArray(), EPS);
    }

    @Test
    void missingEosPenaltyOnlyHitsTruncatedResponses() {
        NDArray scores = manager.create(new float[] {1f, 2f});
        NDArray eos = manager.create(new float[] {1f, 0f});
        assertArrayEquals(new float[] {1f, 0.5f}, PpoMath.penalizeMissingEos(scores, eos, 1.5).toFloatArray(), EPS);
        assertArrayEquals(new float[] {1f, 2f}, PpoMath.penalizeMissingEos(scores, eos, 0).toFloatArray(), EPS);
    }

    @Test
    void gaeOnThreeTokensWithAndWithoutPadding() {
        // row 0, gamma 0.9, lam 0.8 (gamma*lam = 0.72):
        //   t2: delta = 2 - 1.5 = 0.5                       A2 = 0.5
        //   t1: delta = 0 + 0.9*1.5 - 1.0 = 0.35            A1 = 0.35 + 0.72*0.5  = 0.71
        //   t0: delta = 1 + 0.9*1.0 - 0.5 = 1.4             A0 = 1.4  + 0.72*0.71 = 1.9112
        // row 1, last position padded (its 9 and 7 are ignored):
        //   t1: delta = 1.0 - 0.4 = 0.6                     A1 = 0.6
        //   t0: delta = 0.5 + 0.9*0.4 - 0.2 = 0.66          A0 = 0.66 + 0.72*0.6 = 1.092
        NDArray rewards = rows(new float[][] {{1, 0, 2}, {0.5f, 1.0f, 9}});
        NDArray values = rows(new float[][] {{0.5f, 1.0f, 1.5f}, {0.2f, 0.4f, 7}});
        NDArray mask = rows(new float[][] {{1, 1, 1}, {1, 1, 0}});
        PpoMath.Gae gae = PpoMath.gae(rewards, values, mask, 0.9, 0.8);
        assertArrayEquals(new float[] {1.9112f, 0.71f, 0.5f, 1.092f, 0.6f, 0f},
                gae.advantages().toFloatArray(), EPS);
        assertArrayEquals(new float[] {2.4112f, 1.71f, 2.0f, 1.292f, 1.0f, 0f}, gae.returns().toFloatArray(), EPS);
    }

    @Test
    void gaeWithGammaAndLambdaOneIsTheReturnToGoMinusValue() {
        NDArray rewards = rows(new float[][] {{1, 2, 3, 4}});
        NDArray values = rows(new float[][] {{0, 0, 0, 0}});
        NDArray mask = rows(new float[][] {{1, 1, 1, 1}});
        assertArrayEquals(new float[] {10, 9, 7, 4},
                PpoMath.gae(rewards, values, mask, 1.0, 1.0).advantages().toFloatArray(), EPS);
    }

    @Test
    void clippedPolicyLossClipsBothDirections() {
        // ratios 1.5, 0.5, 1.0, 1.1 (padding: 9.0) with advantages 1, -1, 2, -2; cliprange 0.2
        //   t0: -1*1.5 = -1.5 vs -1*1.2 = -1.2 -> -1.2 (clipped)
        //   t1: +1*0.5 =  0.5 vs +1*0.8 =  0.8 ->  0.8 (clipped)
        //   t2: -2*1.0 = -2.0 vs -2.0          -> -2.0
        //   t3: +2*1.1 =  2.2 vs  2.2          ->  2.2
        // mean = (-1.2 + 0.8 - 2.0 + 2.2)/4 = -0.05; clipfrac 2/4
        float[] ratios = {1.5f, 0.5f, 1.0f, 1.1f, 9.0f};
        float[] logRatio = new float[ratios.length];
        for (int i = 0; i < ratios.length; i++) {
            logRatio[i] = (float) Math.log(ratios[i]);
        }
        NDArray oldLp = rows(new float[][] {{-1, -1, -1, -1, -1}});
        NDArray newLp = oldLp.add(rows(new float[][] {logRatio}));
        NDArray adv = rows(new float[][] {{1, -1, 2, -2, 5}});
        NDArray mask = rows(new float[][] {{1, 1, 1, 1, 0}});
        PpoMath.PolicyLoss loss = PpoMath.clippedPolicyLoss(newLp, oldLp, adv, mask, 0.2, null);
        assertEquals(-0.05f, scalar(loss.loss()), EPS);
        assertEquals(0.5f, scalar(loss.clipfrac()), EPS);
        // approxkl = 0.5 * mean(log ratio^2) = 0.5 * (0.1644019 + 0.4804530 + 0 + 0.0090840)/4
        assertEquals(0.0817424f, scalar(loss.approxKl()), EPS);
        assertEquals((1.5f + 0.5f + 1.0f + 1.1f) / 4, scalar(loss.ratio()), EPS);
        // truncated importance weights 2, 0.5, 1, 1 scale the per-token losses: (-2.4 + 0.4 - 2.0 + 2.2)/4
        NDArray w = rows(new float[][] {{2, 0.5f, 1, 1, 1}});
        assertEquals(-0.45f, scalar(PpoMath.clippedPolicyLoss(newLp, oldLp, adv, mask, 0.2, w).loss()), EPS);
    }

    @Test
    void asymmetricClipUsesItsOwnBoundOnEachSide() {
        // the ratios and advantages of clippedPolicyLossClipsBothDirections, ε_low 0.2, ε_high 0.28 (clip-higher):
        //   t0: A=1, ρ=1.5: -1.5 vs -1.28 -> -1.28;  t1: A=-1, ρ=0.5: 0.5 vs 0.8 -> 0.8;  t2 -2.0;  t3 2.2
        // mean = (-1.28 + 0.8 - 2.0 + 2.2)/4 = -0.07; clipfrac 2/4
        NDArray oldLp = rows(new float[][] {{-1, -1, -1, -1, -1}});
        NDArray newLp = oldLp.add(rows(new float[][] {logs(1.5f, 0.5f, 1.0f, 1.1f, 9.0f)}));
        NDArray adv = rows(new float[][] {{1, -1, 2, -2, 5}});
        NDArray mask = rows(new float[][] {{1, 1, 1, 1, 0}});
        PpoMath.PolicyLoss higher = PpoMath.clippedPolicyLoss(newLp, oldLp, adv, mask, 0.2, 0.28, 0,
                LossAgg.TOKEN_MEAN, null);
        assertEquals(-0.07f, scalar(higher.loss()), EPS);
        assertEquals(0.5f, scalar(higher.clipfrac()), EPS);
        // ε_low 0.6 lets ρ = 0.5 through (t1: 0.5), ε_high 0.2 clips t0 at 1.2: (-1.2 + 0.5 - 2.0 + 2.2)/4
        PpoMath.PolicyLoss lower = PpoMath.clippedPolicyLoss(newLp, oldLp, adv, mask, 0.6, 0.2, 0,
                LossAgg.TOKEN_MEAN, null);
        assertEquals(-0.125f, scalar(lower.loss()), EPS);
        assertEquals(0.25f, scalar(lower.clipfrac()), EPS);
        // equal bounds, no dual clip, token mean: the symmetric loss exactly
        assertEquals(scalar(PpoMath.clippedPolicyLoss(newLp, oldLp, adv, mask, 0.2, null).loss()),
                scalar(PpoMath.clippedPolicyLoss(newLp, oldLp, adv, mask, 0.2, 0.2, 0, LossAgg.TOKEN_MEAN, null)
                        .loss()), 0f);
    }

    @Test
    void dualClipCapsNegativeAdvantageLossesAtCTimesAbsA() {
        // ε 0.2:  t0: A=-1, ρ=5: max(5, 1.2) = 5 -> with c=3 min(5, 3) = 3
        //         t1: A=-1, ρ=2: max(2, 1.2) = 2 < 3, unchanged
        //         t2: A=+1, ρ=5: max(-5, -1.2) = -1.2, positive advantage: untouched
        //         t3: A=-2, ρ=0.5: max(1, 1.6) = 1.6 < 6, unchanged
        // without: (5 + 2 - 1.2 + 1.6)/4 = 1.85; with c=3: (3 + 2 - 1.2 + 1.6)/4 = 1.35
        NDArray oldLp = rows(new float[][] {{-1, -1, -1, -1}});
        NDArray newLp = oldLp.add(rows(new float[][] {logs(5f, 2f, 5f, 0.5f)}));
        NDArray adv = rows(new float[][] {{-1, -1, 1, -2}});
        NDArray mask = rows(new float[][] {{1, 1, 1, 1}});
        assertEquals(1.85f, scalar(PpoMath.clippedPolicyLoss(newLp, oldLp, adv, mask, 0.2, 0.2, 0,
                LossAgg.TOKEN_MEAN, null).loss()), EPS);
        assertEquals(1.35f, scalar(PpoMath.clippedPolicyLoss(newLp, oldLp, adv, mask, 0.2, 0.2, 3,
                LossAgg.TOKEN_MEAN, null).loss()), EPS);
    }

    @Test
    void seqMeanAveragesEachSequenceFirstAndSkipsEmptyRows() {
        // ratio 1 everywhere, so each token's loss is -A; row 0 has 3 real tokens, row 1 one, row 2 none
        //   token mean: -(1 + 2 + 3 + 6)/4 = -3;  seq mean: -((1 + 2 + 3)/3 + 6)/2 = -4
        NDArray lp = rows(new float[][] {{-1, -1, -1, -1}, {-1, -1, -1, -1}, {-1, -1, -1, -1}});
        NDArray adv = rows(new float[][] {{1, 2, 3, 50}, {6, 50, 50, 50}, {50, 50, 50, 50}});
        NDArray mask = rows(new float[][] {{1, 1, 1, 0}, {1, 0, 0, 0}, {0, 0, 0, 0}});
        assertEquals(-3f, scalar(PpoMath.clippedPolicyLoss(lp, lp, adv, mask, 0.2, 0.2, 0,
                LossAgg.TOKEN_MEAN, null).loss()), EPS);
        assertEquals(-4f, scalar(PpoMath.clippedPolicyLoss(lp, lp, adv, mask, 0.2, 0.2, 0,
                LossAgg.SEQ_MEAN, null).loss()), EPS);
    }

    private static float[] logs(float... ratios) {
        float[] out = new float[ratios.length];
        for (int i = 0; i < ratios.length; i++) {
            out[i] = (float) Math.log(ratios[i]);
        }
        return out;
    }

    @Test
    void truncatedImportanceWeightsAreCapped() {
        // exp(-1 - -2) = e = 2.718 -> capped at 2; exp(-1 - -0.5) = 0.6065307
        NDArray old = rows(new float[][] {{-1, -1}});
        NDArray behaviour = rows(new float[][] {{-2, -0.5f}});
        assertArrayEquals(new float[] {2.0f, 0.6065307f},
                PpoMath.truncatedImportanceWeights(old, behaviour, 2.0).toFloatArray(), EPS);
    }

    @Test
    void clippedValueLossTakesThePessimisticSquare() {
        // cliprange_value 0.2 around old values 1.5 -> [1.3, 1.7]
        //   t0: V=1.0 R=0: (1.0)^2=1.00 vs (1.3)^2=1.69 -> 1.69 (clipped)
        //   t1: V=2.0 R=3: (1.0)^2=1.00 vs (1.3)^2=1.69 -> 1.69 (clipped)
        //   t2: V=1.6 R=2: 0.16 vs 0.16                -> 0.16
        // 0.5 * (1.69 + 1.69 + 0.16)/3 = 0.59; clipfrac 2/3
        NDArray v = rows(new float[][] {{1.0f, 2.0f, 1.6f, 50}});
        NDArray old = rows(new float[][] {{1.5f, 1.5f, 1.5f, 0}});
        NDArray ret = rows(new float[][] {{0f, 3f, 2f, 0}});
        NDArray mask = rows(new float[][] {{1, 1, 1, 0}});
        PpoMath.ValueLoss loss = PpoMath.clippedValueLoss(v, old, ret, mask, 0.2);
        assertEquals(0.59f, scalar(loss.loss()), EPS);
        assertEquals(2f / 3f, scalar(loss.clipfrac()), EPS);
    }

    @Test
    void entropyAndLogprobsFromLogits() {
        // [0,0]: ln 2; [0, ln 3]: p = .25/.75, H = .25 ln 4 + .75 ln(4/3) = 0.5623351
        float ln3 = (float) Math.log(3);
        NDArray logits = manager.create(new float[] {0, 0, 0, ln3}, new Shape(1, 2, 2));
        assertArrayEquals(new float[] {0.6931472f, 0.5623351f},
                PpoMath.entropyFromLogits(logits).toFloatArray(), EPS);
        NDArray tokens = manager.create(new int[] {0, 1}, new Shape(1, 2));
        assertArrayEquals(new float[] {-0.6931472f, -0.2876821f},
                PpoMath.logprobsFromLogits(logits, tokens).toFloatArray(), EPS);
    }

    @Test
    void sequenceSumMeanIsTrlsSequenceKl() {
        // row sums over real tokens: 0.5+0.5 = 1, 2+1+1 = 4 -> mean 2.5
        NDArray kl = rows(new float[][] {{0.5f, 0.5f, 9}, {2, 1, 1}});
        NDArray mask = rows(new float[][] {{1, 1, 0}, {1, 1, 1}});
        assertEquals(2.5f, scalar(PpoMath.sequenceSumMean(kl, mask)), EPS);
    }
}
