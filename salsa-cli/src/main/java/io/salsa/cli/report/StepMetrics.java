package io.salsa.cli.report;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalDouble;

/**
 * One learner step of one arm and seed as the report reads it: the on-disk twin of a {@code TrainingMetrics}
 * event, tagged with the experiment arm it belongs to.
 *
 * @param arm         experiment arm ({@code salsa-k2}, {@code ppo}, …); the demo's single run uses its recipe name
 * @param seed        seed of the run within the arm
 * @param runId       learner run id
 * @param step        PPO step number
 * @param metrics     metric name (TRL naming, see {@link MetricNames}) to value
 * @param guardEvents KL-hack guard detections during this step
 */
public record StepMetrics(String arm, long seed, String runId, long step, Map<String, Double> metrics,
                          List<Guard> guardEvents) {

    public StepMetrics {
        Objects.requireNonNull(arm, "arm");
        Objects.requireNonNull(runId, "runId");
        metrics = Map.copyOf(metrics);
        guardEvents = List.copyOf(guardEvents);
    }

    /** The value of the first of {@code names} this step reported, if any. */
    public OptionalDouble value(List<String> names) {
        for (String name : names) {
            Double v = metrics.get(name);
            if (v != null && Double.isFinite(v)) {
                return OptionalDouble.of(v);
            }
        }
        return OptionalDouble.empty();
    }

    /**
     * A KL-hack guard event as the learner published it.
     *
     * @param kind   what was detected (length_collapse, negative_kl, proxy_gold_divergence, …)
     * @param action what the learner did (warn, raise_beta, halt)
     * @param detail the numbers behind the detection
     */
    public record Guard(String kind, String action, String detail) {
    }
}
