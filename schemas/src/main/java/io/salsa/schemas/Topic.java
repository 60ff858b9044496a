package io.salsa.schemas;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One Kafka topic of the system: its name, key and value types, partitions and retention, so that the name and
 * its settings are written down in exactly one place (the {@link Topics} catalog).
 *
 * <p>A compacted topic keeps the newest record per key for ever; Kafka applies no {@code retention.*} to a
 * compact-only topic, so its {@link #retention} is {@link Retention#FOREVER} and its configs carry none.
 *
 * @param baseName   topic name without the deployment's prefix, e.g. {@code rollouts}
 * @param keyType    type of the record keys
 * @param valueType  type of the record values (a generated Avro class for event topics)
 * @param partitions partitions created when the topic is missing; partitions are the unit of scale
 * @param cleanup    delete (retained) or compact (latest value per key)
 * @param replayable true when a run must be reproducible from this topic: its records are never deleted
 * @param retention  how long a deleting topic keeps records; forever for replayable and compacted topics
 */
public record Topic<K, V>(String baseName, Class<K> keyType, Class<V> valueType, int partitions,
                          CleanupPolicy cleanup, boolean replayable, Retention retention) {

    private static final Pattern LEGAL = Pattern.compile("[a-zA-Z0-9._-]+");
    /** Kafka refuses topic names longer than this. */
    static final int MAX_NAME_LENGTH = 249;

    public Topic {
        Objects.requireNonNull(baseName, "baseName");
        Objects.requireNonNull(keyType, "keyType");
        Objects.requireNonNull(valueType, "valueType");
        Objects.requireNonNull(cleanup, "cleanup");
        Objects.requireNonNull(retention, "retention");
        if (!LEGAL.matcher(baseName).matches() || baseName.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("topic name '" + baseName
                    + "' must be 1-" + MAX_NAME_LENGTH + " characters of [a-zA-Z0-9._-]");
        }
        if (partitions < 1) {
            throw new IllegalArgumentException("topic " + baseName + ": partitions must be >= 1, got " + partitions);
        }
        if ((replayable || cleanup == CleanupPolicy.COMPACT) && !retention.forever()) {
            throw new IllegalArgumentException("topic " + baseName + ": a replayable or compacted topic keeps its "
                    + "records forever, not " + retention);
        }
    }

    /**
     * A topic whose retention follows from the rest: forever if replayable or compacted, else Kafka's own default
     * of 7 days, written down rather than left to the broker.
     */
    public Topic(String baseName, Class<K> keyType, Class<V> valueType, int partitions, CleanupPolicy cleanup,
            boolean replayable) {
        this(baseName, keyType, valueType, partitions, cleanup, replayable,
                replayable || cleanup == CleanupPolicy.COMPACT ? Retention.FOREVER : Retention.days(7));
    }

    /** The full topic name under a deployment prefix ({@code ""} for none), e.g. {@code exp1.rollouts}. */
    public String name(String prefix) {
        return Objects.requireNonNull(prefix, "prefix") + baseName;
    }

    public boolean compacted() {
        return cleanup == CleanupPolicy.COMPACT;
    }

    /**
     * Topic-level settings to create the topic with: the cleanup policy and, for a deleting topic, its
     * {@code retention.ms} and {@code retention.bytes} (never left to the broker's defaults).
     */
    public Map<String, String> configs() {
        Map<String, String> c = new LinkedHashMap<>();
        c.put("cleanup.policy", cleanup.kafkaValue());
        if (cleanup == CleanupPolicy.DELETE) {
            c.put("retention.ms", Long.toString(retention.ms()));
            c.put("retention.bytes", Long.toString(retention.bytes()));
        }
        return Map.copyOf(c);
    }
}
