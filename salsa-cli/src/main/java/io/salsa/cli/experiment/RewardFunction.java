package io.salsa.cli.experiment;

import java.util.List;

/**
 * The proxy reward PPO optimises: a score per (prompt tokens, response tokens) pair. In the experiment it is the
 * reward model trained from preferences; the gold judge is kept apart for evaluation only.
 */
@FunctionalInterface
public interface RewardFunction {

    /** One score per pair, in order. */
    float[] score(List<int[]> queries, List<int[]> responses);
}
