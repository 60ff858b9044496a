package io.salsa.schemas;

/** How Kafka disposes of old records of a topic: the two policies our topics use. */
public enum CleanupPolicy {
    /** Records are kept for the topic's retention time (forever for replayable topics). */
    DELETE,
    /** Only the newest record per key is kept: the topic is a table of current states. */
    COMPACT;

    /** The value of Kafka's {@code cleanup.policy} topic setting. */
    public String kafkaValue() {
        return this == DELETE ? "delete" : "compact";
    }
}
