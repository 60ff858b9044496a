package io.salsa.learner.ppo;

/**
 * The KL coefficient β of the reward penalty and how it moves: a closed family (fixed, adaptive) with TRL's
 * semantics. Immutable, so the coefficient in force at each step can be checkpointed and replayed exactly.
 */
public sealed interface KlController permits KlController.Fixed, KlController.Adaptive {

    /** The coefficient β to use for the next step. */
    double value();

    /**
     * The controller after observing a step whose mean sequence KL was {@code currentKl} over {@code nSteps}
     * samples (TRL passes the batch size).
     */
    KlController update(double currentKl, int nSteps);

    /** The same controller with β replaced, e.g. when the KL-hack guard raises it. */
    KlController withValue(double value);

    /** Builds the controller a config asks for. */
    static KlController fromConfig(PpoConfig config) {
        return config.adapKlCtrl()
                ? new Adaptive(config.initKlCoef(), config.target(), config.horizon())
                : new Fixed(config.initKlCoef());
    }

    /** β stays where it was set (TRL's {@code FixedKLController}). */
    record Fixed(double value) implements KlController {
        public Fixed {
            requireNonNegative(value);
        }

        @Override
        public KlController update(double currentKl, int nSteps) {
            return this;
        }

        @Override
        public KlController withValue(double newValue) {
            return new Fixed(newValue);
        }
    }

    /**
     * Ziegler et al.'s proportional controller (TRL's {@code AdaptiveKLController}): error = clip(KL/target − 1,
     * −0.2, 0.2), β ← β·(1 + error·nSteps/horizon).
     */
    record Adaptive(double value, double target, double horizon) implements KlController {
        public Adaptive {
            requireNonNegative(value);
            if (!(target > 0)) {
                throw new IllegalArgumentException("target must be > 0 (got " + target + ")");
            }
            if (!(horizon > 0)) {
                throw new IllegalArgumentException("horizon must be > 0 (got " + horizon + ")");
            }
        }

        @Override
        public KlController update(double currentKl, int nSteps) {
            double error = Math.max(-0.2, Math.min(0.2, currentKl / target - 1));
            return new Adaptive(value * (1 + error * nSteps / horizon), target, horizon);
        }

        @Override
        public KlController withValue(double newValue) {
            return new Adaptive(newValue, target, horizon);
        }
    }

    private static void requireNonNegative(double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException("kl_coef must be a finite number >= 0 (got " + value + ")");
        }
    }
}
