package io.salsa.learner.ppo;

import java.util.SplittableRandom;

/**
 * The mini-batch order of a PPO epoch (a Fisher–Yates shuffle driven by the step's seed), apart from
 * {@link PpoStep} so that replays depend on one small, fixed piece of code.
 */
final class Shuffle {

    private Shuffle() {}

    /** A permutation of 0..n-1; the same {@code random} state gives the same permutation. */
    static int[] permutation(int n, SplittableRandom random) {
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        return perm;
    }
}
