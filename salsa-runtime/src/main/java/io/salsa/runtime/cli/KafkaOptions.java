package io.salsa.runtime.cli;

import io.salsa.schemas.KafkaClientConfig;
import io.salsa.schemas.KafkaSettings;
import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The one declaration of the flags that say where a command finds Kafka and the schema registry, each falling back
 * to the environment variable every service reads, so a command that only talks to Kafka mixes in exactly these.
 *
 * <p>{@link ServiceOptions} includes it for commands that also use the blob store.
 */
public final class KafkaOptions {

    @Option(names = "--bootstrap", paramLabel = "HOST:PORT[,...]",
            description = "Kafka bootstrap servers (default: $" + KafkaSettings.BOOTSTRAP_ENV + ").")
    String bootstrap;

    @Option(names = "--topic-prefix", paramLabel = "PREFIX",
            description = "Topic name prefix of the deployment (default: $" + KafkaSettings.PREFIX_ENV + ", else none).")
    String topicPrefix;

    @Option(names = "--schema-registry", paramLabel = "embedded|URL",
            description = "Schema registry: '" + KafkaSettings.EMBEDDED + "' (schemas in a topic of this Kafka) or the "
                    + "http(s) URL of a Confluent-API registry (default: $" + KafkaSettings.REGISTRY_ENV + ", else "
                    + KafkaSettings.EMBEDDED + ").")
    String schemaRegistry;

    @Option(names = "--kafka-config", paramLabel = "FILE",
            description = "Kafka client properties for every client (security.protocol, sasl.*, ssl.*, …), as the "
                    + "Kafka CLIs' --command-config (default: $" + KafkaClientConfig.CONFIG_ENV + "; single "
                    + "properties also from $" + KafkaClientConfig.ENV_PREFIX + "<PROPERTY>, which win over the file).")
    String kafkaConfig;

    /**
     * A copy of {@code env} with every flag that was given written over its variable, for configurations that read
     * the environment ({@code GeneratorConfig.fromEnv}, …): flags win, unset flags leave the variable as it is.
     */
    public Map<String, String> applyTo(Map<String, String> env) {
        Map<String, String> merged = new HashMap<>(env);
        put(merged, KafkaSettings.BOOTSTRAP_ENV, bootstrap);
        put(merged, KafkaSettings.PREFIX_ENV, topicPrefix);
        put(merged, KafkaSettings.REGISTRY_ENV, schemaRegistry);
        put(merged, KafkaClientConfig.CONFIG_ENV, kafkaConfig);
        return merged;
    }

    /**
     * Kafka settings from {@code env} with the flags applied.
     *
     * @throws IllegalArgumentException naming the variable when a setting is missing or malformed
     */
    public KafkaSettings kafka(Map<String, String> env) {
        return KafkaSettings.fromEnv(applyTo(env));
    }

    static void put(Map<String, String> env, String name, String value) {
        if (value != null) {
            env.put(name, value);
        }
    }
}
