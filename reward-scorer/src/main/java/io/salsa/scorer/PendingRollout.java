package io.salsa.scorer;

import java.nio.ByteBuffer;

/**
 * A validated rollout waiting in the batch buffer, kept as its original bytes plus where it came from, so the
 * buffer's changelog can be restored by any later version of the scorer and dead letters stay exact.
 *
 * @param partition the input partition
 * @param offset    the input offset; also the buffer's key, so a batch is taken in input order
 * @param timestamp the input record's timestamp, carried to the output
 * @param key       the original key bytes (may be null)
 * @param value     the original value bytes (registry wire format)
 */
record PendingRollout(int partition, long offset, long timestamp, byte[] key, byte[] value) {

    /** Store key: partition then offset, big-endian, so byte order equals input order. */
    static byte[] storeKey(int partition, long offset) {
        return ByteBuffer.allocate(Integer.BYTES + Long.BYTES).putInt(partition).putLong(offset).array();
    }

    byte[] storeKey() {
        return storeKey(partition, offset);
    }

    byte[] toBytes() {
        int keyLength = key == null ? -1 : key.length;
        ByteBuffer b = ByteBuffer.allocate(Integer.BYTES + 2 * Long.BYTES + Integer.BYTES
                + Math.max(0, keyLength) + value.length);
        b.putInt(partition).putLong(offset).putLong(timestamp).putInt(keyLength);
        if (key != null) {
            b.put(key);
        }
        return b.put(value).array();
    }

    static PendingRollout fromBytes(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        int partition = b.getInt();
        long offset = b.getLong();
        long timestamp = b.getLong();
        int keyLength = b.getInt();
        byte[] key = null;
        if (keyLength >= 0) {
            key = new byte[keyLength];
            b.get(key);
        }
        byte[] value = new byte[b.remaining()];
        b.get(value);
        return new PendingRollout(partition, offset, timestamp, key, value);
    }
}
