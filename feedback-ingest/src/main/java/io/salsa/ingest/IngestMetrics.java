package io.salsa.ingest;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The service's counters and latency histograms, rendered in the Prometheus text exposition format, kept
 * dependency-free because a handful of lock-free adders is all the hot path should pay for.
 */
public final class IngestMetrics {

    /** Upper bounds of the latency buckets, in seconds. */
    static final double[] BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    private final ConcurrentHashMap<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Histogram> latency = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, LongAdder> rejects = new ConcurrentHashMap<>();
    private final LongAdder published = new LongAdder();
    private final LongAdder replays = new LongAdder();
    private final LongAdder rolloutsSeen = new LongAdder();
    private final LongAdder rolloutsSkipped = new LongAdder();
    private final Map<String, LongSupplier> gauges = new ConcurrentHashMap<>();

    /** Counts one finished request and its latency. */
    public void request(String route, String method, int status, long nanos) {
        requests.computeIfAbsent(route + '\u0000' + method + '\u0000' + status, k -> new LongAdder()).increment();
        latency.computeIfAbsent(route, k -> new Histogram()).observe(nanos / 1e9);
    }

    public void reject(String reason) {
        rejects.computeIfAbsent(reason, k -> new LongAdder()).increment();
    }

    public void published() {
        published.increment();
    }

    public void replayed() {
        replays.increment();
    }

    public void rolloutSeen() {
        rolloutsSeen.increment();
    }

    public void rolloutSkipped() {
        rolloutsSkipped.increment();
    }

    /** Registers a value read at scrape time (in-flight sends, pairs in the pool, …). */
    public void gauge(String name, LongSupplier value) {
        gauges.put(name, value);
    }

    /** The whole registry in Prometheus text format 0.0.4. */
    public String render() {
        StringBuilder sb = new StringBuilder(4096);
        header(sb, "salsa_ingest_requests_total", "HTTP requests by route, method and status.", "counter");
        new TreeMap<>(requests).forEach((k, v) -> {
            String[] p = k.split("\u0000");
            sb.append("salsa_ingest_requests_total{route=\"").append(p[0]).append("\",method=\"").append(p[1])
                    .append("\",status=\"").append(p[2]).append("\"} ").append(v.sum()).append('\n');
        });
        header(sb, "salsa_ingest_request_duration_seconds", "HTTP request latency by route.", "histogram");
        new TreeMap<>(latency).forEach((route, h) -> h.render(sb, "salsa_ingest_request_duration_seconds", route));
        counter(sb, "salsa_ingest_events_published_total", "Preference events acknowledged by Kafka.", published.sum());
        counter(sb, "salsa_ingest_idempotent_replays_total", "Requests answered from the idempotency store.",
                replays.sum());
        header(sb, "salsa_ingest_rejects_total", "Requests refused, by reason.", "counter");
        new TreeMap<>(rejects).forEach((reason, v) -> sb.append("salsa_ingest_rejects_total{reason=\"")
                .append(reason).append("\"} ").append(v.sum()).append('\n'));
        counter(sb, "salsa_ingest_rollouts_consumed_total", "Rollouts read from the rollouts topic.",
                rolloutsSeen.sum());
        counter(sb, "salsa_ingest_rollouts_skipped_total", "Rollouts without prompt or response text.",
                rolloutsSkipped.sum());
        new TreeMap<>(gauges).forEach((name, v) -> sb.append("# TYPE ").append(name).append(" gauge\n")
                .append(name).append(' ').append(v.getAsLong()).append('\n'));
        return sb.toString();
    }

    /** The {@code # HELP} and {@code # TYPE} lines of a metric. */
    private static void header(StringBuilder sb, String name, String help, String type) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    /** A counter without labels: its header and its one sample. */
    private static void counter(StringBuilder sb, String name, String help, long value) {
        header(sb, name, help, "counter");
        sb.append(name).append(' ').append(value).append('\n');
    }

    private static final class Histogram {
        final LongAdder[] counts = new LongAdder[BUCKETS.length];
        final LongAdder count = new LongAdder();
        final DoubleAdder sum = new DoubleAdder();

        Histogram() {
            for (int i = 0; i < counts.length; i++) {
                counts[i] = new LongAdder();
            }
        }

        void observe(double seconds) {
            for (int i = 0; i < BUCKETS.length; i++) {
                if (seconds <= BUCKETS[i]) {
                    counts[i].increment();
                    break;
                }
            }
            count.increment();
            sum.add(seconds);
        }

        void render(StringBuilder sb, String name, String route) {
            long cumulative = 0;
            for (int i = 0; i < BUCKETS.length; i++) {
                cumulative += counts[i].sum();
                sb.append(name).append("_bucket{route=\"").append(route).append("\",le=\"").append(BUCKETS[i])
                        .append("\"} ").append(cumulative).append('\n');
            }
            long n = count.sum();
            sb.append(name).append("_bucket{route=\"").append(route).append("\",le=\"+Inf\"} ").append(n).append('\n');
            sb.append(name).append("_sum{route=\"").append(route).append("\"} ").append(sum.sum()).append('\n');
            sb.append(name).append("_count{route=\"").append(route).append("\"} ").append(n).append('\n');
        }
    }
}
