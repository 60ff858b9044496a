package io.salsa.learner.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

class AdvantagesTest {

    private static final float EPS = 1e-5f;
    /** Every array of one test; JUnit closes it after the test. */
    @AutoClose
    private final NDManager manager = NDManager.newBaseManager();

    // s0: group a, score 1, 2 real tokens; s1: group a, score 3, 3 tokens; s2: group b (alone), score 2, 1 token
    private static final List<TrainingSample> BATCH = List.of(sample("a", 1, 2), sample("a", 3, 3), sample("b", 2, 1));

    private static TrainingSample sample(String key, float score, int length) {
        return new TrainingSample(new int[] {1}, new int[length], new float[length], true, score, null, key);
    }

    private NDArray mask() {
        return manager.create(new float[][] {{1, 1, 0}, {1, 1, 1}, {1, 0, 0}});
    }

    private NDArray scores() {
        return manager.create(new float[] {1, 3, 2});
    }

    private NDArray values() {
        // nonzero values: the critic-free algorithms must not use them
        return manager.create(new float[][] {{7, 7, 7}, {7, 7, 7}, {7, 7, 7}});
    }

    @Test
    void grpoBroadcastsTheGroupNormalisedScoreToTheRealTokens() {
        // group a: 1, 3 -> mean 2, sample std √2 -> ∓0.7071068; group b of one -> 0; padding 0
        PpoConfig cfg = PpoConfig.builder().algorithm(Algorithm.GRPO).build();
        NDArray kl = mask().mul(0.5f);
        PpoMath.Gae g = Advantages.of(cfg, BATCH, kl, scores(), values(), mask(), 0.1);
        float a = 0.7071068f;
        assertArrayEquals(new float[] {-a, -a, 0, a, a, a, 0, 0, 0}, g.advantages().toFloatArray(), EPS);
    }

    @Test
    void rlooPutsTheLeaveOneOutScoreAndTheKlPenaltyInTheRewardAndSumsToGo() {
        // leave-one-out: s0 1 − 3 = −2, s1 3 − 1 = 2, s2 alone 0; KL 0.5 per real token, β 0.1 -> −0.05 per token
        //   s0 rewards [−0.05, −2.05, 0] -> to go [−2.1, −2.05, 0]
        //   s1 rewards [−0.05, −0.05, 1.95] -> [1.85, 1.9, 1.95]
        //   s2 rewards [−0.05, 0, 0] -> [−0.05, 0, 0]
        PpoConfig cfg = PpoConfig.builder().algorithm(Algorithm.RLOO).build();
        NDArray kl = mask().mul(0.5f);
        PpoMath.Gae g = Advantages.of(cfg, BATCH, kl, scores(), values(), mask(), 0.1);
        assertArrayEquals(new float[] {-2.1f, -2.05f, 0, 1.85f, 1.9f, 1.95f, -0.05f, 0, 0},
                g.advantages().toFloatArray(), EPS);
    }

    @Test
    void grpoGivesAConstantRewardGroupZeroAdvantageOnEveryTokenAndNoNaN() {
        // three responses of one prompt all scored 0.1 (not exact in binary): std ~0, advantage 0, never 0/0
        List<TrainingSample> batch = List.of(sample("c", 0.1f, 2), sample("c", 0.1f, 3), sample("c", 0.1f, 1));
        PpoConfig cfg = PpoConfig.builder().algorithm(Algorithm.GRPO).build();
        PpoMath.Gae g = Advantages.of(cfg, batch, mask().mul(0.5f), manager.create(new float[] {0.1f, 0.1f, 0.1f}),
                values(), mask(), 0.1);
        float[] adv = g.advantages().toFloatArray();
        for (float v : adv) {
            org.junit.jupiter.api.Assertions.assertTrue(Float.isFinite(v), java.util.Arrays.toString(adv));
        }
        assertArrayEquals(new float[9], adv, EPS);
    }

    @Test
    void rlooLeavesAConstantGroupOnlyTheKlPenaltyAndAGroupOfOneToo() {
        // s0, s1: group d, both 5 -> leave-one-out 0; s2: alone -> 0; rewards are −β·KL = −0.05 per real token
        //   to go: s0 [−0.1, −0.05, 0], s1 [−0.15, −0.1, −0.05], s2 [−0.05, 0, 0]; padding stays 0
        List<TrainingSample> batch = List.of(sample("d", 5, 2), sample("d", 5, 3), sample("e", 9, 1));
        PpoConfig cfg = PpoConfig.builder().algorithm(Algorithm.RLOO).build();
        PpoMath.Gae g = Advantages.of(cfg, batch, mask().mul(0.5f), manager.create(new float[] {5, 5, 9}),
                values(), mask(), 0.1);
        assertArrayEquals(new float[] {-0.1f, -0.05f, 0, -0.15f, -0.1f, -0.05f, -0.05f, 0, 0},
                g.advantages().toFloatArray(), EPS);
    }
}
