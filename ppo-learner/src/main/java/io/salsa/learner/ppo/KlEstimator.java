package io.salsa.learner.ppo;

import java.util.Locale;

/** Which per-token estimator of KL(π_θ ‖ π_soup) the reward penalty uses (TRL's {@code kl_estimator}). */
public enum KlEstimator {
    /** log π − log π_ref: unbiased, may be negative per token and, with few samples, on average. */
    K1,
    /** ½(log π − log π_ref)²: biased, never negative, low variance. */
    K2,
    /** (π_ref/π − 1) − log(π_ref/π): unbiased and never negative. */
    K3;

    /** Parses {@code k1}/{@code k2}/{@code k3} in any case, naming the setting on error. */
    public static KlEstimator parse(String value) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("kl_estimator must be one of k1, k2, k3 (got '" + value + "')");
        }
    }
}
