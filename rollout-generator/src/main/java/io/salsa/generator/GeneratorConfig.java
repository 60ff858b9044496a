package io.salsa.generator;

import io.salsa.model.lm.Precision;
import io.salsa.schemas.Topic;
import io.salsa.schemas.Topics;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Everything one generator instance needs besides the Kafka connection, immutable and validated at start so a
 * bad setting fails with its name and allowed range instead of misbehaving later.
 *
 * @param generatorId           stable id of this instance (stamped on every rollout)
 * @param consumerGroup         consumer group of the prompts topic; instances in one group split its partitions
 * @param samplesPerPrompt      n: responses sampled per prompt
 * @param batchSize             sequences (prompt × sample) per model call
 * @param sampling              temperature, top-k, top-p, max new tokens
 * @param seed                  base seed from which every rollout's seed is derived
 * @param maxStaleness          bound on expected staleness in policy versions (-1 = unbounded)
 * @param maxUnconsumedRollouts cap on rollouts waiting for the learner (0 = none)
 * @param learnerBatchRollouts  rollouts per learner step assumed until a BatchManifest says otherwise
 * @param lagSources            (topic, consumer group) pairs whose lag sums to the rollouts the learner has not consumed
 * @param policyRunId           learner run to follow on the policy topic, or null to follow the newest checkpoint of any run
 * @param initialWeights        weights used before the first policy checkpoint
 * @param device                where the model runs
 * @param precision             the generation forward's precision: float32, or fp16 autocast (for GPUs)
 * @param stateDir              instance state: the generator id file and the local copy of downloaded weights
 */
public record GeneratorConfig(
        String generatorId,
        String consumerGroup,
        int samplesPerPrompt,
        int batchSize,
        SamplingParams sampling,
        long seed,
        int maxStaleness,
        long maxUnconsumedRollouts,
        int learnerBatchRollouts,
        List<LagSource> lagSources,
        String policyRunId,
        InitialWeights initialWeights,
        Device device,
        Precision precision,
        Path stateDir) {

    /** Where the model runs. */
    public enum Device { CPU, GPU }

    /** The weights used before the learner publishes its first checkpoint. */
    public sealed interface InitialWeights permits Soup, Folder {
        /**
         * Parses {@code soup}, {@code soup:RECIPE} or a model folder path.
         *
         * @throws IllegalArgumentException for an empty value or an empty recipe
         */
        static InitialWeights parse(String value) {
            if (value == null || value.isBlank()) {
                throw new IllegalArgumentException("initial_weights must be 'soup', 'soup:RECIPE' or a model folder");
            }
            if (value.equals("soup")) {
                return new Soup(DEFAULT_SOUP_RECIPE);
            }
            if (value.startsWith("soup:")) {
                String recipe = value.substring("soup:".length());
                if (recipe.isBlank()) {
                    throw new IllegalArgumentException("initial_weights 'soup:' needs a recipe name after the colon");
                }
                return new Soup(recipe);
            }
            return new Folder(Path.of(value));
        }
    }

    /** The newest soup of a recipe on the compacted soup topic. */
    public record Soup(String recipe) implements InitialWeights { }

    /** A model folder (config.json + model.safetensors [+ tokenizer.json]) on local disk. */
    public record Folder(Path dir) implements InitialWeights { }

    /**
     * A topic read by some consumer group on the way to the learner; its lag counts rollouts not yet consumed.
     *
     * @param topic catalog name of the topic (without prefix), e.g. {@code scored-rollouts}
     * @param group the consumer group (or Kafka Streams application id) reading it; {@value #RUN_PLACEHOLDER}
     *              stands for the learner run id
     */
    public record LagSource(String topic, String group) {
        public LagSource {
            catalogTopic(topic);
            if (group == null || group.isBlank()) {
                throw new IllegalArgumentException("lag source for topic '" + topic + "' needs a consumer group");
            }
        }

        /** The catalog topic this source names. */
        public Topic<?, ?> catalogTopic() {
            return catalogTopic(topic);
        }

        private static Topic<?, ?> catalogTopic(String baseName) {
            return Topics.all().stream().filter(t -> t.baseName().equals(baseName)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("lag source topic '" + baseName
                            + "' is not a catalog topic; use one of "
                            + Topics.all().stream().map(Topic::baseName).toList()));
        }

        /** Parses {@code topic@group}. */
        static LagSource parse(String s) {
            int at = s.indexOf('@');
            if (at <= 0 || at == s.length() - 1) {
                throw new IllegalArgumentException("lag source '" + s + "' must look like topic@consumer-group");
            }
            return new LagSource(s.substring(0, at).trim(), s.substring(at + 1).trim());
        }
    }

    public static final String DEFAULT_SOUP_RECIPE = "default";
    public static final String DEFAULT_GROUP = "salsa-generator";
    /** Placeholder in a lag source's group for the learner run id (configured, or the newest manifest's). */
    public static final String RUN_PLACEHOLDER = "{run}";
    /** The reward scorer's default Kafka Streams application id (= its consumer group). */
    public static final String DEFAULT_SCORER_GROUP = "salsa-reward-scorer";
    /** The PPO learner's consumer group: {@code ppo-learner-<run id>}. */
    public static final String DEFAULT_LEARNER_GROUP = "ppo-learner-" + RUN_PLACEHOLDER;
    /** Rollouts waiting for the scorer plus scored rollouts waiting for the learner. */
    public static final String DEFAULT_LAG_SOURCES = Topics.ROLLOUTS.baseName() + "@" + DEFAULT_SCORER_GROUP + ","
            + Topics.SCORED_ROLLOUTS.baseName() + "@" + DEFAULT_LEARNER_GROUP;

    public GeneratorConfig {
        require(generatorId != null && generatorId.matches("[A-Za-z0-9._:-]{1,128}"),
                "generator_id must be 1-128 characters of [A-Za-z0-9._:-], got '" + generatorId + "'");
        require(consumerGroup != null && !consumerGroup.isBlank(), "consumer_group must not be empty");
        require(samplesPerPrompt >= 1 && samplesPerPrompt <= 1024,
                "samples_per_prompt (n) must be in [1, 1024], got " + samplesPerPrompt);
        require(batchSize >= 1 && batchSize <= 4096, "batch_size must be in [1, 4096], got " + batchSize);
        require(sampling != null, "sampling parameters are required");
        require(maxStaleness >= -1, "max_staleness must be >= 0 (or -1 = unbounded), got " + maxStaleness);
        require(maxUnconsumedRollouts >= 0, "max_unconsumed_rollouts must be >= 0 (0 = no cap), got "
                + maxUnconsumedRollouts);
        require(learnerBatchRollouts >= 1, "learner_batch_rollouts must be >= 1, got " + learnerBatchRollouts);
        lagSources = List.copyOf(lagSources);
        require(policyRunId == null || !policyRunId.isBlank(), "policy_run_id must not be blank (omit it to follow any run)");
        require(initialWeights != null, "initial_weights is required");
        require(device != null, "device must be cpu or gpu");
        require(precision != null, "precision must be no or fp16");
        require(stateDir != null, "state_dir is required");
    }

    /** The staleness rule this config asks for. */
    public StalenessGate gate() {
        return new StalenessGate(maxStaleness, maxUnconsumedRollouts);
    }

    /** The run id stamped on rollouts: the followed run, or {@code initial} when following any run. */
    public String stampRunId() {
        return policyRunId == null ? "initial" : policyRunId;
    }

    /**
     * Builds the config from {@code SALSA_GENERATOR_*} variables (see the module README), with defaults for
     * everything; the generator id defaults to the one persisted in the state folder.
     *
     * @throws IllegalArgumentException naming the variable when a value is malformed or out of range
     */
    public static GeneratorConfig fromEnv(Map<String, String> env) {
        String stateDirName = get(env, "SALSA_GENERATOR_STATE_DIR", "salsa-data/generator", s -> s);
        Path stateDir = Path.of(stateDirName);
        String id = env.get("SALSA_GENERATOR_ID");
        if (id == null || id.isBlank()) {
            id = GeneratorId.resolve(stateDir);
        }
        SamplingParams sampling;
        try {
            sampling = new SamplingParams(
                    get(env, "SALSA_GENERATOR_TEMPERATURE", "1.0", Float::parseFloat),
                    get(env, "SALSA_GENERATOR_TOP_K", "0", Integer::parseInt),
                    get(env, "SALSA_GENERATOR_TOP_P", "1.0", Float::parseFloat),
                    get(env, "SALSA_GENERATOR_MAX_NEW_TOKENS", "32", Integer::parseInt));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("sampling settings (SALSA_GENERATOR_TEMPERATURE, _TOP_K, _TOP_P, "
                    + "_MAX_NEW_TOKENS): " + e.getMessage(), e);
        }
        List<LagSource> lag = new ArrayList<>();
        for (String part : get(env, "SALSA_GENERATOR_LAG_SOURCES", DEFAULT_LAG_SOURCES, s -> s).split(",")) {
            if (!part.isBlank()) {
                lag.add(get(Map.of("SALSA_GENERATOR_LAG_SOURCES", part.trim()), "SALSA_GENERATOR_LAG_SOURCES",
                        "", LagSource::parse));
            }
        }
        String runId = env.get("SALSA_GENERATOR_POLICY_RUN_ID");
        return new GeneratorConfig(
                id,
                get(env, "SALSA_GENERATOR_GROUP", DEFAULT_GROUP, s -> s),
                get(env, "SALSA_GENERATOR_SAMPLES_PER_PROMPT", "4", Integer::parseInt),
                get(env, "SALSA_GENERATOR_BATCH_SIZE", "8", Integer::parseInt),
                sampling,
                get(env, "SALSA_GENERATOR_SEED", "0", Long::parseLong),
                get(env, "SALSA_GENERATOR_MAX_STALENESS", "1", Integer::parseInt),
                get(env, "SALSA_GENERATOR_MAX_UNCONSUMED_ROLLOUTS", "0", Long::parseLong),
                get(env, "SALSA_GENERATOR_LEARNER_BATCH_ROLLOUTS", "64", Integer::parseInt),
                lag,
                runId == null || runId.isBlank() ? null : runId,
                get(env, "SALSA_GENERATOR_INITIAL_WEIGHTS", "soup", InitialWeights::parse),
                get(env, "SALSA_GENERATOR_DEVICE", "cpu", s -> Device.valueOf(s.trim().toUpperCase(Locale.ROOT))),
                get(env, "SALSA_GENERATOR_PRECISION", "no", Precision::parse),
                stateDir);
    }

    private static <T> T get(Map<String, String> env, String name, String fallback, Function<String, T> parse) {
        String raw = env.getOrDefault(name, fallback);
        try {
            return parse.apply(raw.trim());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(name + "='" + raw + "' is invalid: " + e.getMessage(), e);
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
