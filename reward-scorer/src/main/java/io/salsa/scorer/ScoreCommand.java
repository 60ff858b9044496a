package io.salsa.scorer;

import ai.djl.Device;
import io.salsa.model.lm.DeviceOptions;
import io.salsa.runtime.blob.BlobStores;
import io.salsa.runtime.cli.EnvDefaults;
import io.salsa.runtime.cli.SalsaCommand;
import io.salsa.runtime.cli.ServiceOptions;
import io.salsa.runtime.service.ServiceRunner;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code salsa score}: runs one reward-scorer instance (start more with the same --app-id to scale out). */
@Command(name = "score", mixinStandardHelpOptions = true, defaultValueProvider = EnvDefaults.class,
        description = "Run the reward scorer: rollouts → reward model → scored-rollouts, exactly once, hot-swapping "
                + "to each new reward-model checkpoint published under --model-name. Every option can also be "
                + "given as the environment variable shown. --cache-dir is where fetched reward models are "
                + "unpacked ($" + ScorerConfig.MODEL_CACHE_ENV + "); there is no default blob store. Metrics and health on "
                + "--metrics-port (default " + ScoreCommand.METRICS_PORT + ").")
public final class ScoreCommand extends SalsaCommand {

    /** The scorer's default probe port (/metrics, /healthz, /readyz). */
    public static final int METRICS_PORT = 9401;

    @Mixin
    ServiceOptions service = new ServiceOptions();
    @Option(names = "--app-id", description = "Application id = consumer group; instances with the same id share "
            + "the work ($SALSA_SCORER_APP_ID, default " + ScorerConfig.DEFAULT_APP_ID + ").")
    String appId;
    @Option(names = "--scorer-id", description = "Stamped on every output ($SALSA_SCORER_ID, default host-pid).")
    String scorerId;
    @Option(names = "--model-name", description = "Reward model to follow on the reward-models topic "
            + "($SALSA_SCORER_MODEL_NAME, default " + ScorerConfig.DEFAULT_MODEL_NAME + ").")
    String modelName;
    @Option(names = "--initial-model", description = "Reward-model folder to serve (as version 0) until a "
            + "checkpoint is published ($SALSA_SCORER_INITIAL_MODEL).")
    Path initialModel;
    @Option(names = "--batch-size", description = "Rollouts per model call, 1-1024 ($SALSA_SCORER_BATCH_SIZE, default "
            + ScorerConfig.DEFAULT_BATCH_SIZE + ").")
    Integer batchSize;
    @Option(names = "--batch-max-wait-ms", description = "Longest a rollout waits for its batch to fill "
            + "($SALSA_SCORER_BATCH_MAX_WAIT_MS, default " + ScorerConfig.DEFAULT_BATCH_WAIT_MS + ").")
    Long batchMaxWaitMs;
    @Option(names = "--normalize", description = "Normalise scores with running mean/std per reward-model version "
            + "($SALSA_SCORER_NORMALIZE).")
    Boolean normalize;
    @Option(names = "--stream-threads", description = "Kafka Streams threads ($SALSA_SCORER_THREADS, default 1).")
    Integer streamThreads;
    @Option(names = "--state-dir", description = "Kafka Streams state folder ($SALSA_SCORER_STATE_DIR).")
    Path stateDir;
    @Option(names = "--precision", description = "The reward model's forward: no (float32) or fp16 (for GPUs: "
            + "float16 weights, fp16 autocast, float32 scores; slow on a CPU) ($SALSA_SCORER_PRECISION, default no).")
    String precision;
    @Mixin
    DeviceOptions deviceOptions = new DeviceOptions();

    @Override
    public Integer call() throws Exception {
        ScorerConfig config;
        Device dev;
        RewardScorerModel initial = null;
        RewardModelLoader loader;
        Map<String, String> env = env();
        int metricsPort;
        try {
            metricsPort = service.metricsPort(env, METRICS_PORT);
            config = ScorerConfig.fromEnv(env);
            if (config.blobStore() == null && config.initialModel() == null) {
                throw new IllegalArgumentException("nothing to score with: set " + ScorerConfig.BLOB_STORE_ENV
                        + " (--blob-store) to load published reward models, and/or --initial-model DIR");
            }
            dev = deviceOptions.apply();
            if (config.blobStore() != null) {
                loader = new BlobRewardModelLoader(BlobStores.fromUri(config.blobStore(), env), config.modelCache(),
                        dev, config.precision());
            } else {
                loader = cp -> {
                    throw new IOException("no blob store configured (" + ScorerConfig.BLOB_STORE_ENV
                            + "), cannot fetch " + cp.getBlob().getUri());
                };
            }
            if (config.initialModel() != null) {
                initial = RewardModelEnsemble.load(config.initialModel(), config.rewardModelName(), 0, dev,
                        config.precision());
            }
        } catch (IllegalArgumentException | IOException e) {
            return refuse(withFlags(e.getMessage()));
        }
        ServiceRunner.runUntilStopped(new RewardScorerApp(config, initial, loader), metricsPort);
        return 0;
    }

    private Map<String, String> env() {
        Map<String, String> env = withOwnOptions(service.applyTo(System.getenv()));
        Path cache = service.cacheDir(null);
        if (cache != null) {
            env.put(ScorerConfig.MODEL_CACHE_ENV, cache.toString());
        }
        return env;
    }

    /** Names the flag next to the environment variable an error mentions, e.g. "--batch-size (SALSA_SCORER_BATCH_SIZE)". */
    private String withFlags(String message) {
        Map<String, String> flags = new HashMap<>();
        ownOptionsByVariable().forEach((variable, option) -> flags.put(variable, option.longestName()));
        flags.put(ScorerConfig.MODEL_CACHE_ENV, "--cache-dir");
        String m = message == null ? "" : message;
        for (Map.Entry<String, String> e : flags.entrySet()) {
            m = m.replace(e.getKey(), e.getValue() + " (" + e.getKey() + ")");
        }
        return m;
    }
}
