package io.salsa.learner;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.salsa.runtime.metrics.ProbeServer;
import io.salsa.runtime.metrics.SalsaMetrics;
import io.salsa.runtime.service.Health;
import java.io.IOException;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The learner's latest step metrics as gauges on the process's {@link SalsaMetrics} registry, so a scrape sees the
 * same TRL-named values as the metrics topic: {@code objective/kl} becomes {@code salsa_learner_objective_kl}
 * (label {@code run_id}), next to the JVM's and the Kafka clients' metrics.
 *
 * <p>{@code salsa learn} serves them through its {@link io.salsa.runtime.service.ServiceRunner} probe endpoint;
 * a learner run inside another process (the demo, tests) with a {@code metrics_port} serves its own.
 */
public final class LearnerMetrics implements AutoCloseable {

    /** The prefix of every learner gauge. */
    static final String PREFIX = "salsa_learner_";

    private final String runId;
    private final Map<String, Double> values = new ConcurrentHashMap<>();
    private final MeterRegistry registry = SalsaMetrics.registry();
    private final ProbeServer probes;
    private final Counter steps;
    private final AtomicLong step = new AtomicLong(-1);

    /**
     * Registers the run's gauges; serves them with the JVM's and Kafka's metrics and {@code health} on {@code port}
     * (0 = any free port), or not at all for -1.
     */
    public LearnerMetrics(String runId, int port, Supplier<Health> health) throws IOException {
        this.runId = runId;
        steps = Counter.builder(PREFIX + "steps").description("PPO steps this process trained for the run.")
                .tag("run_id", runId).register(registry);
        Gauge.builder(PREFIX + "step", step, AtomicLong::get)
                .description("The run's latest finished step (-1 before the first).").tag("run_id", runId)
                .register(registry);
        probes = port < 0 ? null : ProbeServer.start("ppo-learner", "0.0.0.0", port, health);
    }

    /** The bound port, or -1 when this run serves no endpoint of its own. */
    public int port() {
        return probes == null ? -1 : probes.port();
    }

    /** Sets the gauges to one step's values (a key seen for the first time registers its gauge). */
    public void update(Map<String, Double> step) {
        for (Map.Entry<String, Double> e : step.entrySet()) {
            if (values.put(e.getKey(), e.getValue()) == null) {
                String key = e.getKey();
                Gauge.builder(name(key), values, m -> m.getOrDefault(key, Double.NaN))
                        .description("The learner's " + key + " at its latest step (TRL name).")
                        .tag("run_id", runId)
                        .register(registry);
            }
        }
    }

    /**
     * Counts one finished PPO step ({@code salsa_learner_steps_total}, for a rate of steps per second) and sets
     * {@code salsa_learner_step} to the run's step number, which survives restarts where the counter does not.
     */
    public void stepped(long step) {
        steps.increment();
        this.step.set(step);
    }

    /** The gauge name of a TRL metric key: {@code policy/clipfrac_avg} → {@code salsa_learner_policy_clipfrac_avg}. */
    static String name(String key) {
        return PREFIX + key.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
    }

    /** Unregisters the run's gauges and closes its endpoint, if any. */
    @Override
    public void close() {
        SalsaMetrics.removeAll(registry, PREFIX, "run_id", runId);
        if (probes != null) {
            probes.close();
        }
    }
}
