package io.salsa.schemas;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One Kafka topic of the system: its name, key and value types, partitions and retention, so that the name and
 * its settings are written down in exactly one place (the {@link Topics} catalog).
 *
 * @param baseName   topic name without the deployment's prefix, e.g. {@code rollouts}
 * @param keyType    type of the record keys
 * @param valueType  type of the record values (a generated Avro class for event topics)
 * @param partitions partitions created when the topic is missing; partitions are the unit of scale
 * @param cleanup    delete (retained) or compact (latest value per key)
 * @param replayable true when a run must be reproducible from this topic: its records are never deleted
 */
public record Topic<K, V>(String baseName, Class<K> keyType, Class<V> valueType, int partitions,
                          CleanupPolicy cleanup, boolean replayable) {

    private static final Pattern LEGAL = Pattern.compile("[a-zA-Z0-9._-]+");
    /** Kafka refuses topic names longer than this. */
    static final int MAX_NAME_LENGTH = 249;

    public Topic {
        Objects.requireNonNull(baseName, "baseName");
        Objects.requireNonNull(keyType, "keyType");
        Objects.requireNonNull(valueType, "valueType");
        Objects.requireNonNull(cleanup, "cleanup");
        if (!LEGAL.matcher(baseName).matches() || baseName.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("topic name '" + baseName
                    + "' must be 1-" + MAX_NAME_LENGTH + " characters of [a-zA-Z0-9._-]");
        }
        if (partitions < 1) {
            throw new IllegalArgumentException("topic " + baseName + ": partitions must be >= 1, got " + partitions);
        }
    }

    /** The full topic name under a deployment prefix ({@code ""} for none), e.g. {@code exp1.rollouts}. */
    public String name(String prefix) {
        return Objects.requireNonNull(prefix, "prefix") + baseName;
    }

    public boolean compacted() {
        return cleanup == CleanupPolicy.COMPACT;
    }

    /** Topic-level settings to create the topic with: cleanup policy, and unlimited retention if replayable. */
    public Map<String, String> configs() {
        Map<String, String> c = new LinkedHashMap<>();
        c.put("cleanup.policy", cleanup.kafkaValue());
        if (replayable) {
            c.put("retention.ms", "-1");
            c.put("retention.bytes", "-1");
        }
        return Map.copyOf(c);
    }
}
