package io.salsa.ingest;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Everything the feedback-ingest service can be told, built once from the environment (and the command's
 * flags, which are folded into the same map) and validated before anything starts.
 *
 * @param host                  interface the HTTP server binds to
 * @param port                  HTTP port; 0 picks a free one
 * @param ratersFile            file of {@code raterId sha256(token)} lines, or {@code null}
 * @param raters                inline {@code raterId:sha256hex,…} list, or empty
 * @param maxBodyBytes          largest accepted request body
 * @param maxReasonChars        longest accepted free-text reason
 * @param ratePerSecond         sustained requests per second allowed to one rater
 * @param rateBurst             requests one rater may send at once before the rate applies
 * @param ackTimeout            how long a request waits for Kafka's acknowledgement before answering 503
 * @param maxInFlight           preferences waiting for Kafka at once; more are refused with 503
 * @param deliveryTimeout       producer {@code delivery.timeout.ms}: when Kafka gives up on a record for good
 * @param maxBlock              producer {@code max.block.ms}: longest a send may wait for metadata
 * @param lingerMs              producer {@code linger.ms}: how long a batch waits for company (latency vs. CPU)
 * @param idempotencyCapacity   how many recent idempotency keys are remembered (and reloaded on restart)
 * @param rolloutsBacklog       rollouts read back per partition at start, so raters have work at once
 * @param rolloutsPerPrompt     most recent rollouts kept per prompt for pairing
 * @param pairCapacity          comparison pairs kept in the pool (oldest dropped first)
 * @param pairPoolMb            and at most about this many MB of them (estimated; oldest dropped first); the
 *                              rollouts waiting per prompt to be paired get a budget of the same size
 * @param taskTtl               how long an issued task may stay unanswered
 */
public record IngestConfig(
        String host,
        int port,
        Path ratersFile,
        String raters,
        int maxBodyBytes,
        int maxReasonChars,
        double ratePerSecond,
        int rateBurst,
        Duration ackTimeout,
        int maxInFlight,
        Duration deliveryTimeout,
        Duration maxBlock,
        int lingerMs,
        int idempotencyCapacity,
        int rolloutsBacklog,
        int rolloutsPerPrompt,
        int pairCapacity,
        int pairPoolMb,
        Duration taskTtl) {

    public static final String HOST = "SALSA_INGEST_HOST";
    public static final String PORT = "SALSA_INGEST_PORT";
    public static final String RATERS_FILE = "SALSA_INGEST_RATERS_FILE";
    public static final String RATERS = "SALSA_INGEST_RATERS";
    public static final String MAX_BODY_BYTES = "SALSA_INGEST_MAX_BODY_BYTES";
    public static final String MAX_REASON_CHARS = "SALSA_INGEST_MAX_REASON_CHARS";
    public static final String RATE_PER_SECOND = "SALSA_INGEST_RATE_PER_SECOND";
    public static final String RATE_BURST = "SALSA_INGEST_RATE_BURST";
    public static final String ACK_TIMEOUT_MS = "SALSA_INGEST_ACK_TIMEOUT_MS";
    public static final String MAX_IN_FLIGHT = "SALSA_INGEST_MAX_IN_FLIGHT";
    public static final String DELIVERY_TIMEOUT_MS = "SALSA_INGEST_DELIVERY_TIMEOUT_MS";
    public static final String MAX_BLOCK_MS = "SALSA_INGEST_MAX_BLOCK_MS";
    public static final String LINGER_MS = "SALSA_INGEST_LINGER_MS";
    public static final String IDEMPOTENCY_CAPACITY = "SALSA_INGEST_IDEMPOTENCY_CAPACITY";
    public static final String ROLLOUTS_BACKLOG = "SALSA_INGEST_ROLLOUTS_BACKLOG";
    public static final String ROLLOUTS_PER_PROMPT = "SALSA_INGEST_ROLLOUTS_PER_PROMPT";
    public static final String PAIR_CAPACITY = "SALSA_INGEST_PAIR_CAPACITY";
    public static final String PAIR_POOL_MB = "SALSA_INGEST_PAIR_POOL_MB";
    public static final String TASK_TTL_SECONDS = "SALSA_INGEST_TASK_TTL_SECONDS";

    /** Kafka's producer needs {@code delivery.timeout.ms >= linger.ms + request.timeout.ms}. */
    static final int REQUEST_TIMEOUT_MS = 3000;
    static final int MAX_LINGER_MS = 100;

    public IngestConfig {
        Objects.requireNonNull(host, HOST);
        Objects.requireNonNull(raters, RATERS);
        Objects.requireNonNull(ackTimeout, ACK_TIMEOUT_MS);
        Objects.requireNonNull(deliveryTimeout, DELIVERY_TIMEOUT_MS);
        Objects.requireNonNull(maxBlock, MAX_BLOCK_MS);
        Objects.requireNonNull(taskTtl, TASK_TTL_SECONDS);
        if (host.isBlank()) {
            throw new IllegalArgumentException(HOST + " must not be blank");
        }
        range(PORT, port, 0, 65535);
        if (ratersFile == null && raters.isBlank()) {
            throw new IllegalArgumentException("no raters configured: set " + RATERS_FILE
                    + " (a file of 'raterId sha256hex' lines) or " + RATERS + " (raterId:sha256hex,...)");
        }
        range(MAX_BODY_BYTES, maxBodyBytes, 256, 1 << 20);
        range(MAX_REASON_CHARS, maxReasonChars, 0, 100_000);
        if (!(ratePerSecond > 0 && ratePerSecond <= 1_000_000)) {
            throw new IllegalArgumentException(RATE_PER_SECOND + " must be in (0, 1000000], got " + ratePerSecond);
        }
        range(RATE_BURST, rateBurst, 1, 1_000_000);
        range(ACK_TIMEOUT_MS, ackTimeout.toMillis(), 50, 120_000);
        range(MAX_IN_FLIGHT, maxInFlight, 1, 100_000);
        range(DELIVERY_TIMEOUT_MS, deliveryTimeout.toMillis(), MAX_LINGER_MS + REQUEST_TIMEOUT_MS, 600_000);
        range(MAX_BLOCK_MS, maxBlock.toMillis(), 0, 60_000);
        range(LINGER_MS, lingerMs, 0, MAX_LINGER_MS);
        range(IDEMPOTENCY_CAPACITY, idempotencyCapacity, 1, 10_000_000);
        range(ROLLOUTS_BACKLOG, rolloutsBacklog, 0, 10_000_000);
        range(ROLLOUTS_PER_PROMPT, rolloutsPerPrompt, 2, 1000);
        range(PAIR_CAPACITY, pairCapacity, 1, 10_000_000);
        range(PAIR_POOL_MB, pairPoolMb, 1, 1_000_000);
        range(TASK_TTL_SECONDS, taskTtl.toSeconds(), 1, 7 * 24 * 3600);
    }

    /** Reads the settings above from {@code env}; unset ones take their defaults. */
    public static IngestConfig fromEnv(Map<String, String> env) {
        Function<String, String> get = k -> {
            String v = env.get(k);
            return v == null || v.isBlank() ? null : v.trim();
        };
        String file = get.apply(RATERS_FILE);
        return new IngestConfig(
                orDefault(get.apply(HOST), "127.0.0.1"),
                intOf(get, PORT, 8080),
                file == null ? null : Path.of(file),
                orDefault(get.apply(RATERS), ""),
                intOf(get, MAX_BODY_BYTES, 16 * 1024),
                intOf(get, MAX_REASON_CHARS, 2000),
                doubleOf(get, RATE_PER_SECOND, 5.0),
                intOf(get, RATE_BURST, 20),
                Duration.ofMillis(intOf(get, ACK_TIMEOUT_MS, 2000)),
                intOf(get, MAX_IN_FLIGHT, 2048),
                Duration.ofMillis(intOf(get, DELIVERY_TIMEOUT_MS, 30_000)),
                Duration.ofMillis(intOf(get, MAX_BLOCK_MS, 1000)),
                intOf(get, LINGER_MS, 5),
                intOf(get, IDEMPOTENCY_CAPACITY, 500_000),
                intOf(get, ROLLOUTS_BACKLOG, 20_000),
                intOf(get, ROLLOUTS_PER_PROMPT, 8),
                intOf(get, PAIR_CAPACITY, 200_000),
                intOf(get, PAIR_POOL_MB, 128),
                Duration.ofSeconds(intOf(get, TASK_TTL_SECONDS, 1800)));
    }

    private static String orDefault(String v, String d) {
        return v == null ? d : v;
    }

    private static int intOf(Function<String, String> get, String key, int dflt) {
        String v = get.apply(key);
        if (v == null) {
            return dflt;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be an integer, got '" + v + "'");
        }
    }

    private static double doubleOf(Function<String, String> get, String key, double dflt) {
        String v = get.apply(key);
        if (v == null) {
            return dflt;
        }
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, got '" + v + "'");
        }
    }

    private static void range(String key, long v, long lo, long hi) {
        if (v < lo || v > hi) {
            throw new IllegalArgumentException(key + " must be between " + lo + " and " + hi + ", got " + v);
        }
    }
}
