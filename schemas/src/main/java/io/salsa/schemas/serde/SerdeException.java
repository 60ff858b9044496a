package io.salsa.schemas.serde;

import org.apache.kafka.common.errors.SerializationException;

/**
 * A record value could not be encoded or decoded, with where it came from (topic, and partition and offset when
 * known) and why, so a service can dead-letter it instead of crashing or silently dropping it.
 */
public final class SerdeException extends SerializationException {

    private static final long serialVersionUID = 1L;

    /** Why it failed. */
    public enum Reason {
        /** The first byte is not the wire format's magic byte 0: not written by a registry serde. */
        WRONG_MAGIC_BYTE(true),
        /** Fewer bytes than the header or the Avro body needs. */
        TRUNCATED(true),
        /** The registry has no schema with the record's id. */
        UNKNOWN_SCHEMA_ID(true),
        /** The body is not valid Avro of the writer schema (including trailing bytes). */
        MALFORMED_BODY(true),
        /** The writer schema cannot be resolved into this reader's schema. */
        INCOMPATIBLE_SCHEMA(true),
        /** The schema registry could not be asked; retrying later may succeed. */
        REGISTRY_UNAVAILABLE(false),
        /** A value could not be written (e.g. a required field is null). */
        ENCODING_FAILED(false);

        private final boolean poison;

        Reason(boolean poison) {
            this.poison = poison;
        }

        /** True when retrying cannot help: the record belongs in the dead-letter topic. */
        public boolean poison() {
            return poison;
        }
    }

    private final Reason reason;
    private final String topic;
    private final int partition;
    private final long offset;
    private final String detail;

    public SerdeException(Reason reason, String topic, int partition, long offset, String detail, Throwable cause) {
        super(describe(reason, topic, partition, offset, detail), cause);
        this.reason = reason;
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.detail = detail;
    }

    public SerdeException(Reason reason, String topic, String detail, Throwable cause) {
        this(reason, topic, -1, -1L, detail, cause);
    }

    /** The same failure, now also naming the partition and offset of the record. */
    public SerdeException at(int partition, long offset) {
        SerdeException located = new SerdeException(reason, topic, partition, offset, detail, getCause());
        located.setStackTrace(getStackTrace());
        return located;
    }

    private static String describe(Reason reason, String topic, int partition, long offset, String detail) {
        StringBuilder s = new StringBuilder(reason.name()).append(" in topic ").append(topic);
        if (partition >= 0) {
            s.append(" partition ").append(partition);
        }
        if (offset >= 0) {
            s.append(" offset ").append(offset);
        }
        return s.append(": ").append(detail).toString();
    }

    public Reason reason() {
        return reason;
    }

    /** What went wrong, without the location. */
    public String detail() {
        return detail;
    }

    public String topic() {
        return topic;
    }

    /** The partition, or -1 when the caller did not know it. */
    public int partition() {
        return partition;
    }

    /** The offset, or -1 when the caller did not know it. */
    public long offset() {
        return offset;
    }
}
