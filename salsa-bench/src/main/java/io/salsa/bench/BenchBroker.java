package io.salsa.bench;

import io.salsa.broker.EmbeddedKafkaBroker;
import io.salsa.schemas.KafkaSettings;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The Kafka a bench runs against: an in-process broker it started (and stops on {@link #close()}) or one given by
 * address, with the settings its clients use; so no bench repeats the start-or-connect logic.
 */
public final class BenchBroker implements AutoCloseable {

    private final EmbeddedKafkaBroker embedded;
    private final KafkaSettings base;

    private BenchBroker(EmbeddedKafkaBroker embedded, KafkaSettings base) {
        this.embedded = embedded;
        this.base = base;
    }

    /** Starts a single-node KRaft broker with its data in {@code dataDir}. */
    static BenchBroker embedded(Path dataDir) {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dataDir);
        return new BenchBroker(broker, KafkaSettings.embedded(broker.bootstrapServers(), ""));
    }

    /**
     * A running broker: {@code servers}, or {@code $SALSA_KAFKA_BOOTSTRAP} when null; the topic prefix and the
     * schema registry come from {@code env} ({@code SALSA_TOPIC_PREFIX}, {@code SALSA_SCHEMA_REGISTRY}).
     *
     * @throws IllegalArgumentException naming the flag or variable that is wrong
     */
    static BenchBroker external(String servers, Map<String, String> env) {
        Map<String, String> merged = new HashMap<>(env);
        if (servers != null) {
            merged.put(KafkaSettings.BOOTSTRAP_ENV, servers);
        }
        try {
            return new BenchBroker(null, KafkaSettings.fromEnv(merged));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(servers != null ? "--bootstrap: " + e.getMessage() : e.getMessage(), e);
        }
    }

    /** Whether {@code env} names a Kafka. */
    static boolean configured(Map<String, String> env) {
        String servers = env.get(KafkaSettings.BOOTSTRAP_ENV);
        return servers != null && !servers.isBlank();
    }

    /** Whether this bench started the broker in its own process (its CPU then counts against the bench). */
    public boolean inProcess() {
        return embedded != null;
    }

    public String bootstrapServers() {
        return base.bootstrapServers();
    }

    /** Client settings for topics under {@code prefix} (after the deployment's own prefix, if any). */
    public KafkaSettings settings(String prefix) {
        return base.withTopicPrefix(base.topicPrefix() + prefix);
    }

    /** Stops the in-process broker, if this bench started one. */
    @Override
    public void close() {
        if (embedded != null) {
            embedded.close();
        }
    }
}
