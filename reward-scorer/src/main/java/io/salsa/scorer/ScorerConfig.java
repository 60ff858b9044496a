package io.salsa.scorer;

import io.salsa.model.lm.Precision;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Everything one reward-scorer instance needs to run, validated at start so a bad setting fails with its name
 * and allowed range instead of surfacing later inside Kafka Streams.
 *
 * @param kafka               broker, topic prefix and schema registry
 * @param applicationId       Kafka Streams application id = consumer group; instances with the same id share
 *                            the rollouts' partitions ({@value #APP_ID_ENV})
 * @param scorerId            stamped on every scored rollout ({@value #SCORER_ID_ENV}; default host-pid)
 * @param rewardModelName     which reward model (key on the reward-models topic) to follow ({@value #MODEL_NAME_ENV})
 * @param initialModel        a local reward-model folder to serve (as version 0) until a checkpoint of the
 *                            followed name is published; null to wait for one ({@value #INITIAL_MODEL_ENV})
 * @param batchSize           rollouts per model call, 1-1024 ({@value #BATCH_SIZE_ENV})
 * @param batchMaxWait        longest a buffered rollout waits for its batch to fill, 1 ms-60 s ({@value #BATCH_WAIT_ENV}, ms)
 * @param normalize           normalise scores with running mean/std per reward-model version ({@value #NORMALIZE_ENV})
 * @param normalizeEps        added to the variance before the square root, (0, 1] ({@value #NORMALIZE_EPS_ENV})
 * @param streamThreads       Kafka Streams threads, 1-16 ({@value #THREADS_ENV})
 * @param commitInterval      how often a transaction commits, 10 ms-60 s ({@value #COMMIT_ENV}, ms)
 * @param stateDir            where Kafka Streams keeps local state ({@value #STATE_DIR_ENV})
 * @param blobStore           URI of the blob store checkpoints point into, {@code file:///…} or {@code s3://…}
 *                            ({@value #BLOB_STORE_ENV}); null when only a local initial model is served
 * @param modelCache          where fetched reward-model folders are unpacked ({@value #MODEL_CACHE_ENV})
 * @param precision           the reward model's forward ({@value #PRECISION_ENV}): {@code no} (float32, the default)
 *                            or {@code fp16} (for GPUs: a frozen model holding float16 weights, fp16 autocast,
 *                            float32 scores)
 */
public record ScorerConfig(KafkaSettings kafka, String applicationId, String scorerId, String rewardModelName,
                           Path initialModel, int batchSize, Duration batchMaxWait, boolean normalize,
                           double normalizeEps, int streamThreads, Duration commitInterval, Path stateDir,
                           String blobStore, Path modelCache, Precision precision) {

    public static final String APP_ID_ENV = "SALSA_SCORER_APP_ID";
    public static final String SCORER_ID_ENV = "SALSA_SCORER_ID";
    public static final String MODEL_NAME_ENV = "SALSA_SCORER_MODEL_NAME";
    public static final String INITIAL_MODEL_ENV = "SALSA_SCORER_INITIAL_MODEL";
    public static final String BATCH_SIZE_ENV = "SALSA_SCORER_BATCH_SIZE";
    public static final String BATCH_WAIT_ENV = "SALSA_SCORER_BATCH_MAX_WAIT_MS";
    public static final String NORMALIZE_ENV = "SALSA_SCORER_NORMALIZE";
    public static final String NORMALIZE_EPS_ENV = "SALSA_SCORER_NORMALIZE_EPS";
    public static final String THREADS_ENV = "SALSA_SCORER_THREADS";
    public static final String COMMIT_ENV = "SALSA_SCORER_COMMIT_INTERVAL_MS";
    public static final String STATE_DIR_ENV = "SALSA_SCORER_STATE_DIR";
    public static final String BLOB_STORE_ENV = "SALSA_BLOB_STORE";
    public static final String MODEL_CACHE_ENV = "SALSA_SCORER_MODEL_CACHE";
    public static final String PRECISION_ENV = "SALSA_SCORER_PRECISION";

    public static final String DEFAULT_APP_ID = "salsa-reward-scorer";
    public static final String DEFAULT_MODEL_NAME = "default";
    public static final int DEFAULT_BATCH_SIZE = 16;
    public static final long DEFAULT_BATCH_WAIT_MS = 200;
    public static final double DEFAULT_NORMALIZE_EPS = 1e-8;
    public static final long DEFAULT_COMMIT_MS = 100;

    /** A float32 scorer (the settings before {@code precision} existed). */
    public ScorerConfig(KafkaSettings kafka, String applicationId, String scorerId, String rewardModelName,
                        Path initialModel, int batchSize, Duration batchMaxWait, boolean normalize,
                        double normalizeEps, int streamThreads, Duration commitInterval, Path stateDir,
                        String blobStore, Path modelCache) {
        this(kafka, applicationId, scorerId, rewardModelName, initialModel, batchSize, batchMaxWait, normalize,
                normalizeEps, streamThreads, commitInterval, stateDir, blobStore, modelCache, Precision.FP32);
    }

    public ScorerConfig {
        Objects.requireNonNull(kafka, "kafka");
        Objects.requireNonNull(precision, PRECISION_ENV);
        requireName(APP_ID_ENV, applicationId);
        requireName(SCORER_ID_ENV, scorerId);
        requireName(MODEL_NAME_ENV, rewardModelName);
        Objects.requireNonNull(batchMaxWait, BATCH_WAIT_ENV);
        Objects.requireNonNull(commitInterval, COMMIT_ENV);
        Objects.requireNonNull(stateDir, STATE_DIR_ENV);
        Objects.requireNonNull(modelCache, MODEL_CACHE_ENV);
        if (blobStore != null && !(blobStore.startsWith("file:") || blobStore.startsWith("s3://"))) {
            throw new IllegalArgumentException(BLOB_STORE_ENV + " must be a file:/// or s3:// URI, got '" + blobStore + "'");
        }
        if (batchSize < 1 || batchSize > 1024) {
            throw new IllegalArgumentException(BATCH_SIZE_ENV + " must be 1-1024, got " + batchSize);
        }
        if (batchMaxWait.toMillis() < 1 || batchMaxWait.toMillis() > 60_000) {
            throw new IllegalArgumentException(BATCH_WAIT_ENV + " must be 1-60000 ms, got " + batchMaxWait.toMillis());
        }
        if (!(normalizeEps > 0 && normalizeEps <= 1)) {
            throw new IllegalArgumentException(NORMALIZE_EPS_ENV + " must be in (0, 1], got " + normalizeEps);
        }
        if (streamThreads < 1 || streamThreads > 16) {
            throw new IllegalArgumentException(THREADS_ENV + " must be 1-16, got " + streamThreads);
        }
        if (commitInterval.toMillis() < 10 || commitInterval.toMillis() > 60_000) {
            throw new IllegalArgumentException(COMMIT_ENV + " must be 10-60000 ms, got " + commitInterval.toMillis());
        }
    }

    private static void requireName(String setting, String value) {
        if (value == null || !value.matches("[A-Za-z0-9._:@-]{1,200}")) {
            throw new IllegalArgumentException(setting + " must be 1-200 characters of [A-Za-z0-9._:@-], got '"
                    + value + "'");
        }
    }

    /** Defaults for everything but Kafka. */
    public static ScorerConfig defaults(KafkaSettings kafka) {
        return new ScorerConfig(kafka, DEFAULT_APP_ID, defaultScorerId(), DEFAULT_MODEL_NAME, null,
                DEFAULT_BATCH_SIZE, Duration.ofMillis(DEFAULT_BATCH_WAIT_MS), false, DEFAULT_NORMALIZE_EPS, 1,
                Duration.ofMillis(DEFAULT_COMMIT_MS), defaultStateDir(), null,
                Path.of(System.getProperty("java.io.tmpdir"), "salsa-scorer-models"), Precision.FP32);
    }

    /**
     * Reads the {@code SALSA_SCORER_*} variables (blank = unset) on top of {@link KafkaSettings#fromEnv}.
     *
     * @throws IllegalArgumentException naming the variable and the problem
     */
    public static ScorerConfig fromEnv(Map<String, String> env) {
        ScorerConfig d = defaults(KafkaSettings.fromEnv(env));
        return new ScorerConfig(d.kafka(),
                get(env, APP_ID_ENV, d.applicationId(), Function.identity()),
                get(env, SCORER_ID_ENV, d.scorerId(), Function.identity()),
                get(env, MODEL_NAME_ENV, d.rewardModelName(), Function.identity()),
                get(env, INITIAL_MODEL_ENV, null, Path::of),
                get(env, BATCH_SIZE_ENV, d.batchSize(), Integer::parseInt),
                get(env, BATCH_WAIT_ENV, d.batchMaxWait(), v -> Duration.ofMillis(Long.parseLong(v))),
                get(env, NORMALIZE_ENV, d.normalize(), ScorerConfig::parseBoolean),
                get(env, NORMALIZE_EPS_ENV, d.normalizeEps(), Double::parseDouble),
                get(env, THREADS_ENV, d.streamThreads(), Integer::parseInt),
                get(env, COMMIT_ENV, d.commitInterval(), v -> Duration.ofMillis(Long.parseLong(v))),
                get(env, STATE_DIR_ENV, d.stateDir(), Path::of),
                get(env, BLOB_STORE_ENV, null, Function.identity()),
                get(env, MODEL_CACHE_ENV, d.modelCache(), Path::of),
                get(env, PRECISION_ENV, d.precision(), Precision::parse));
    }

    private static <T> T get(Map<String, String> env, String name, T fallback, Function<String, T> parse) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            return fallback;
        }
        try {
            return parse.apply(v.strip());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(name + "='" + v + "' is not valid: " + e.getMessage(), e);
        }
    }

    private static boolean parseBoolean(String v) {
        return switch (v.toLowerCase(java.util.Locale.ROOT)) {
            case "true", "1", "yes", "on" -> true;
            case "false", "0", "no", "off" -> false;
            default -> throw new IllegalArgumentException("expected true or false");
        };
    }

    static String defaultScorerId() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "localhost";
        }
        return (host + "-" + ManagementFactory.getRuntimeMXBean().getPid()).replaceAll("[^A-Za-z0-9._:@-]", "_");
    }

    static Path defaultStateDir() {
        return Path.of(System.getProperty("java.io.tmpdir"), "salsa-scorer-state");
    }

    /** Name written into dead letters as the service that gave up on a record. */
    public String serviceName() {
        return "reward-scorer/" + scorerId;
    }

    public String rolloutsTopic() {
        return kafka.topic(Topics.ROLLOUTS);
    }

    public ScorerConfig withBatching(int size, Duration maxWait) {
        return new ScorerConfig(kafka, applicationId, scorerId, rewardModelName, initialModel, size, maxWait,
                normalize, normalizeEps, streamThreads, commitInterval, stateDir, blobStore, modelCache, precision);
    }

    public ScorerConfig withNormalize(boolean on) {
        return new ScorerConfig(kafka, applicationId, scorerId, rewardModelName, initialModel, batchSize,
                batchMaxWait, on, normalizeEps, streamThreads, commitInterval, stateDir, blobStore, modelCache,
                precision);
    }

    public ScorerConfig withIdentity(String appId, String id, Path state) {
        return new ScorerConfig(kafka, appId, id, rewardModelName, initialModel, batchSize, batchMaxWait,
                normalize, normalizeEps, streamThreads, commitInterval, state, blobStore, modelCache, precision);
    }

    public ScorerConfig withModel(String name, Path initial) {
        return new ScorerConfig(kafka, applicationId, scorerId, name, initial, batchSize, batchMaxWait,
                normalize, normalizeEps, streamThreads, commitInterval, stateDir, blobStore, modelCache, precision);
    }

    /** The same settings scoring in {@code p} ({@code no} or {@code fp16}). */
    public ScorerConfig withPrecision(Precision p) {
        return new ScorerConfig(kafka, applicationId, scorerId, rewardModelName, initialModel, batchSize,
                batchMaxWait, normalize, normalizeEps, streamThreads, commitInterval, stateDir, blobStore, modelCache,
                p);
    }
}
