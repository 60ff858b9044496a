package io.salsa.schemas.serde;

/**
 * The Confluent schema-registry wire format, the de-facto standard every registry serde speaks: magic byte 0, the
 * schema id as a 4-byte big-endian int, then the Avro binary body.
 */
public final class WireFormat {

    public static final byte MAGIC_BYTE = 0;
    /** Magic byte plus schema id. */
    public static final int HEADER_LENGTH = 5;

    private WireFormat() {
    }

    /** Subject of a topic's values under the TopicNameStrategy. */
    public static String valueSubject(String topic) {
        return topic + "-value";
    }

    /** Subject of a topic's keys under the TopicNameStrategy (unused by our String keys). */
    public static String keySubject(String topic) {
        return topic + "-key";
    }

    static void writeHeader(byte[] out, int schemaId) {
        out[0] = MAGIC_BYTE;
        out[1] = (byte) (schemaId >>> 24);
        out[2] = (byte) (schemaId >>> 16);
        out[3] = (byte) (schemaId >>> 8);
        out[4] = (byte) schemaId;
    }

    /** The schema id in a framed value; the caller has checked the length and the magic byte. */
    static int schemaId(byte[] framed) {
        return ((framed[1] & 0xff) << 24) | ((framed[2] & 0xff) << 16) | ((framed[3] & 0xff) << 8)
                | (framed[4] & 0xff);
    }
}
