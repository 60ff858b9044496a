package io.salsa.learner.ppo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;

/**
 * Watches each PPO step for the two ways a soup-referenced policy games its objective: shrinking responses until
 * the KL penalty vanishes, and drifting into text the reward model over-rates (KL estimates turning negative, the
 * proxy reward rising while the held-out rater's score falls). Immutable: {@link #observe} returns the next guard
 * so the guard's state is part of the learner state that checkpoints and replays carry.
 */
public final class KlHackGuard {

    /** What the learner does when the guard fires. */
    public enum Action {
        WARN, RAISE_BETA, HALT;

        /** Parses {@code warn}, {@code raise_beta} or {@code halt}. */
        public static Action parse(String value) {
            try {
                return valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("guard_action must be one of warn, raise_beta, halt (got '"
                        + value + "')");
            }
        }

        /** The lower-case name used in metrics and {@code GuardEvent.action}. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Guard thresholds.
     *
     * @param action what to do on a detection ({@code guard_action})
     * @param warmupSteps steps whose mean response length forms the baseline ({@code guard_warmup_steps})
     * @param lengthCollapseRatio fire when mean length falls below this share of the baseline
     *     ({@code guard_length_collapse_ratio})
     * @param negativeKlTolerance fire when the mean sequence KL is below −tolerance ({@code guard_negative_kl_tolerance})
     * @param divergenceWindow held-out observations the proxy/gold trend is fitted on ({@code guard_divergence_window})
     * @param raiseBetaFactor β multiplier for {@code raise_beta} ({@code guard_raise_beta_factor})
     */
    public record Config(Action action, int warmupSteps, double lengthCollapseRatio, double negativeKlTolerance,
            int divergenceWindow, double raiseBetaFactor) {
        public Config {
            if (action == null) {
                throw new IllegalArgumentException("guard_action must be one of warn, raise_beta, halt (got null)");
            }
            if (warmupSteps < 1) {
                throw new IllegalArgumentException("guard_warmup_steps must be >= 1 (got " + warmupSteps + ")");
            }
            if (!(lengthCollapseRatio > 0 && lengthCollapseRatio < 1)) {
                throw new IllegalArgumentException(
                        "guard_length_collapse_ratio must be in (0, 1) (got " + lengthCollapseRatio + ")");
            }
            if (!(negativeKlTolerance >= 0)) {
                throw new IllegalArgumentException(
                        "guard_negative_kl_tolerance must be >= 0 (got " + negativeKlTolerance + ")");
            }
            if (divergenceWindow < 3) {
                throw new IllegalArgumentException(
                        "guard_divergence_window must be >= 3 (got " + divergenceWindow + ")");
            }
            if (!(raiseBetaFactor > 1)) {
                throw new IllegalArgumentException(
                        "guard_raise_beta_factor must be > 1 (got " + raiseBetaFactor + ")");
            }
        }

        /** Warn only; baseline over 3 steps; collapse at half length; KL below −0.05; trend over 4 evaluations. */
        public static Config defaults() {
            return new Config(Action.WARN, 3, 0.5, 0.05, 4, 2.0);
        }
    }

    /** What one step looked like to the guard. */
    public record Observation(double meanResponseLength, double meanKl, double proxyScore, OptionalDouble heldOutScore) {}

    /** One detection: {@code kind} is length_collapse, negative_kl or proxy_gold_divergence. */
    public record Detection(String kind, Action action, String detail) {}

    /** The guard's verdict for a step and the guard to use for the next one. */
    public record Verdict(List<Detection> detections, KlHackGuard next) {
        /** True when any detection asks the learner to stop. */
        public boolean halt() {
            return detections.stream().anyMatch(d -> d.action() == Action.HALT);
        }

        /** True when any detection asks the learner to raise β. */
        public boolean raiseBeta() {
            return detections.stream().anyMatch(d -> d.action() == Action.RAISE_BETA);
        }
    }

    private final Config config;
    private final List<Double> warmupLengths;
    private final List<double[]> proxyGold;

    /** A fresh guard with no history. */
    public KlHackGuard(Config config) {
        this(config, List.of(), List.of());
    }

    /** A guard restored from {@link #warmupLengths()} and {@link #proxyGold()} of a checkpointed one. */
    public KlHackGuard(Config config, List<Double> warmupLengths, List<double[]> proxyGold) {
        this.config = config;
        this.warmupLengths = List.copyOf(warmupLengths);
        this.proxyGold = List.copyOf(proxyGold);
    }

    public Config config() {
        return config;
    }

    /** Mean lengths of the warm-up steps seen so far (at most {@code warmupSteps}). */
    public List<Double> warmupLengths() {
        return warmupLengths;
    }

    /** The last held-out observations as {proxy, gold} pairs (at most {@code divergenceWindow}). */
    public List<double[]> proxyGold() {
        return proxyGold;
    }

    /** Checks one step; returns its detections and the guard carrying the updated history. */
    public Verdict observe(Observation obs) {
        List<Detection> detections = new ArrayList<>();
        List<Double> lengths = new ArrayList<>(warmupLengths);
        if (lengths.size() < config.warmupSteps()) {
            lengths.add(obs.meanResponseLength());
        } else {
            double baseline = lengths.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            if (obs.meanResponseLength() < config.lengthCollapseRatio() * baseline) {
                detections.add(new Detection("length_collapse", config.action(), String.format(Locale.ROOT,
                        "mean response length %.2f < %.2f x baseline %.2f", obs.meanResponseLength(),
                        config.lengthCollapseRatio(), baseline)));
            }
        }
        if (obs.meanKl() < -config.negativeKlTolerance()) {
            detections.add(new Detection("negative_kl", config.action(), String.format(Locale.ROOT,
                    "mean KL estimate %.4f < -%.4f", obs.meanKl(), config.negativeKlTolerance())));
        }
        List<double[]> window = new ArrayList<>(proxyGold);
        if (obs.heldOutScore().isPresent()) {
            window.add(new double[] {obs.proxyScore(), obs.heldOutScore().getAsDouble()});
            if (window.size() > config.divergenceWindow()) {
                window.remove(0);
            }
            if (window.size() == config.divergenceWindow()) {
                double proxySlope = slope(window, 0);
                double goldSlope = slope(window, 1);
                if (proxySlope > 0 && goldSlope < 0) {
                    detections.add(new Detection("proxy_gold_divergence", config.action(), String.format(
                            Locale.ROOT, "over the last %d evaluations proxy reward slope %+.4f, held-out score "
                                    + "slope %+.4f", window.size(), proxySlope, goldSlope)));
                }
            }
        }
        return new Verdict(List.copyOf(detections), new KlHackGuard(config, lengths, window));
    }

    /** Least-squares slope of column {@code col} against the index 0..n-1. */
    static double slope(List<double[]> points, int col) {
        int n = points.size();
        double meanX = (n - 1) / 2.0;
        double meanY = 0;
        for (double[] p : points) {
            meanY += p[col];
        }
        meanY /= n;
        double num = 0;
        double den = 0;
        for (int i = 0; i < n; i++) {
            num += (i - meanX) * (points.get(i)[col] - meanY);
            den += (i - meanX) * (i - meanX);
        }
        return num / den;
    }
}
