package io.salsa.generator;

import io.salsa.model.lm.Devices;
import io.salsa.runtime.blob.BlobStore;
import io.salsa.runtime.cli.EnvDefaults;
import io.salsa.runtime.cli.SalsaCommand;
import io.salsa.runtime.cli.ServiceOptions;
import io.salsa.runtime.service.ServiceRunner;
import io.salsa.schemas.KafkaSettings;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code salsa generate}: runs one rollout generator instance until Ctrl-C. */
@Command(name = "generate", mixinStandardHelpOptions = true, defaultValueProvider = EnvDefaults.class,
        description = "Run a rollout generator: prompts → n sampled responses per prompt from the current policy → "
                + "rollouts. Every option also reads its SALSA_GENERATOR_* variable; flags win. --cache-dir is "
                + "where downloaded weights go (default: <state-dir>/weights); the blob store defaults to "
                + "file://<cwd>/salsa-data/blobs. Metrics and health on --metrics-port (default " + GenerateCommand.METRICS_PORT
                + ").")
public final class GenerateCommand extends SalsaCommand {

    /** The generator's default probe port (/metrics, /healthz, /readyz). */
    public static final int METRICS_PORT = 9400;

    @Mixin
    ServiceOptions service = new ServiceOptions();
    @Option(names = "--id", description = "Generator id ($SALSA_GENERATOR_ID; default host + persisted suffix).")
    String id;
    @Option(names = "--state-dir", description = "Id file and weight copies ($SALSA_GENERATOR_STATE_DIR).")
    String stateDir;
    @Option(names = "--group", description = "Consumer group on prompts ($SALSA_GENERATOR_GROUP).")
    String group;
    @Option(names = {"-n", "--samples-per-prompt"}, description = "Responses per prompt ($SALSA_GENERATOR_SAMPLES_PER_PROMPT).")
    String samples;
    @Option(names = "--batch-size", description = "Sequences per model call ($SALSA_GENERATOR_BATCH_SIZE).")
    String batchSize;
    @Option(names = "--temperature", description = "($SALSA_GENERATOR_TEMPERATURE)")
    String temperature;
    @Option(names = "--top-k", description = "($SALSA_GENERATOR_TOP_K)")
    String topK;
    @Option(names = "--top-p", description = "($SALSA_GENERATOR_TOP_P)")
    String topP;
    @Option(names = "--max-new-tokens", description = "($SALSA_GENERATOR_MAX_NEW_TOKENS)")
    String maxNewTokens;
    @Option(names = "--seed", description = "Base seed ($SALSA_GENERATOR_SEED).")
    String seed;
    @Option(names = "--max-staleness", description = "Bound in policy versions, -1 = none ($SALSA_GENERATOR_MAX_STALENESS).")
    String maxStaleness;
    @Option(names = "--max-unconsumed-rollouts", description = "Cap, 0 = none ($SALSA_GENERATOR_MAX_UNCONSUMED_ROLLOUTS).")
    String maxUnconsumed;
    @Option(names = "--learner-batch-rollouts", description = "($SALSA_GENERATOR_LEARNER_BATCH_ROLLOUTS)")
    String learnerBatch;
    @Option(names = "--lag-sources", description = "topic@group,… ($SALSA_GENERATOR_LAG_SOURCES).")
    String lagSources;
    @Option(names = "--run-id", description = "Learner run to follow ($SALSA_GENERATOR_POLICY_RUN_ID).")
    String runId;
    @Option(names = "--initial-weights", description = "soup, soup:RECIPE or a model folder ($SALSA_GENERATOR_INITIAL_WEIGHTS).")
    String initialWeights;
    @Option(names = "--device", description = "cpu or gpu ($SALSA_GENERATOR_DEVICE).")
    String device;
    @Option(names = "--precision", description = "no (float32) or fp16 (autocast; for GPUs) "
            + "($SALSA_GENERATOR_PRECISION).")
    String precision;
    @Option(names = "--threads", description = "PyTorch intra-op threads, 1 to 1024 ($SALSA_GENERATOR_THREADS; "
            + "default: PyTorch's own, one per core). Several generators on one machine: 1 each.")
    String threads;

    static final String THREADS_ENV = "SALSA_GENERATOR_THREADS";

    static int parseThreads(String value) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(THREADS_ENV + " (--threads) must be a whole number, got \"" + value
                    + "\"");
        }
    }

    @Override
    public Integer call() throws Exception {
        Map<String, String> env = withOwnOptions(service.applyTo(System.getenv()));
        KafkaSettings settings;
        GeneratorConfig config;
        BlobStore store;
        int metricsPort;
        try {
            metricsPort = service.metricsPort(env, METRICS_PORT);
            settings = KafkaSettings.fromEnv(env);
            config = GeneratorConfig.fromEnv(env);
            if (config.initialWeights() instanceof GeneratorConfig.Folder f
                    && !java.nio.file.Files.isRegularFile(f.dir().resolve("config.json"))) {
                throw new IllegalArgumentException("SALSA_GENERATOR_INITIAL_WEIGHTS: " + f.dir()
                        + " is not a model folder (no config.json)");
            }
            store = service.blobStore(env);
            String t = env.get(THREADS_ENV);
            if (t != null && !t.isBlank()) {
                Devices.setThreads(parseThreads(t));
            }
        } catch (IllegalArgumentException e) {
            return refuse(e.getMessage());
        }
        ServiceRunner.runUntilStopped(new GeneratorApp(settings, config, ModelRolloutSampler.factory(config.precision()),
                new BlobWeightFetcher(store, service.cacheDir(config.stateDir().resolve("weights")))), metricsPort);
        return 0;
    }
}
