package io.salsa.generator;

/**
 * Decides whether a generator must pause so that the rollouts it would produce next are not consumed by the
 * learner more than {@code max_staleness} policy versions after the version that produced them.
 *
 * <p>The learner consumes {@code rolloutsPerStep} rollouts per PPO step and publishes one policy version per
 * step. A rollout produced now waits behind the {@code unconsumed} rollouts already queued for the learner,
 * so it is trained on {@code floor(unconsumed / rolloutsPerStep)} versions after the newest published policy,
 * and the generator's own weights may already lag that policy by {@code publishedVersion − generatorVersion}.
 * The sum is the expected staleness of the next rollout; the gate pauses while it exceeds the bound, or while
 * the optional absolute cap on unconsumed rollouts is reached. Pure arithmetic, free of I/O.
 *
 * @param maxStaleness          bound in policy versions, or -1 for no version bound
 * @param maxUnconsumedRollouts cap on rollouts waiting for the learner, or 0 for no cap
 */
public record StalenessGate(int maxStaleness, long maxUnconsumedRollouts) {

    public StalenessGate {
        if (maxStaleness < -1) {
            throw new IllegalArgumentException("max_staleness must be >= 0 (or -1 = unbounded), got " + maxStaleness);
        }
        if (maxUnconsumedRollouts < 0) {
            throw new IllegalArgumentException("max_unconsumed_rollouts must be >= 0 (0 = no cap), got "
                    + maxUnconsumedRollouts);
        }
    }

    /**
     * What the generator knows about the learner.
     *
     * @param unconsumedRollouts rollouts produced but not yet consumed by the learner (all generators together)
     * @param rolloutsPerStep    rollouts the learner consumes per PPO step (&ge; 1)
     * @param publishedVersion   newest policy version the learner published, or -1 when none yet
     */
    public record LearnerProgress(long unconsumedRollouts, long rolloutsPerStep, long publishedVersion) {
        public LearnerProgress {
            if (rolloutsPerStep < 1) {
                throw new IllegalArgumentException("rolloutsPerStep must be >= 1, got " + rolloutsPerStep);
            }
        }
    }

    /** Expected staleness, in policy versions, of a rollout produced now with {@code generatorVersion}. */
    public static long expectedStaleness(LearnerProgress progress, long generatorVersion) {
        long weightLag = progress.publishedVersion() < 0 ? 0 : Math.max(0, progress.publishedVersion() - generatorVersion);
        return weightLag + Math.max(0, progress.unconsumedRollouts()) / progress.rolloutsPerStep();
    }

    /** True when the generator must not start another batch. */
    public boolean shouldPause(LearnerProgress progress, long generatorVersion) {
        if (maxUnconsumedRollouts > 0 && progress.unconsumedRollouts() >= maxUnconsumedRollouts) {
            return true;
        }
        return maxStaleness >= 0 && expectedStaleness(progress, generatorVersion) > maxStaleness;
    }
}
