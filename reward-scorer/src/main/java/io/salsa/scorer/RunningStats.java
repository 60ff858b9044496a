package io.salsa.scorer;

import java.nio.ByteBuffer;

/**
 * Running mean and variance of rewards (Welford / Chan's parallel update), kept per reward-model version so
 * scores can be normalised without holding every past reward.
 *
 * @param count number of rewards seen
 * @param mean  their mean
 * @param m2    sum of squared deviations from the mean
 */
public record RunningStats(long count, double mean, double m2) {

    /** Serialized size in bytes: count, mean, m2. */
    public static final int BYTES = Long.BYTES + 2 * Double.BYTES;

    public static final RunningStats EMPTY = new RunningStats(0, 0.0, 0.0);

    public RunningStats {
        if (count < 0) {
            throw new IllegalArgumentException("count must be >= 0, got " + count);
        }
    }

    /** The statistics after also seeing {@code values} (Chan et al.'s merge of two partial results). */
    public RunningStats plus(float[] values) {
        if (values.length == 0) {
            return this;
        }
        double batchMean = 0;
        for (float v : values) {
            batchMean += v;
        }
        batchMean /= values.length;
        double batchM2 = 0;
        for (float v : values) {
            double d = v - batchMean;
            batchM2 += d * d;
        }
        long n = count + values.length;
        double delta = batchMean - mean;
        double newMean = mean + delta * values.length / n;
        double newM2 = m2 + batchM2 + delta * delta * ((double) count * values.length / n);
        return new RunningStats(n, newMean, newM2);
    }

    /** Population variance; 0 before two values have been seen. */
    public double variance() {
        return count < 2 ? 0.0 : m2 / count;
    }

    /** {@code (x - mean) / sqrt(variance + eps)}: eps keeps the first scores of a version finite. */
    public float normalise(float x, double eps) {
        return (float) ((x - mean) / Math.sqrt(variance() + eps));
    }

    public byte[] toBytes() {
        return ByteBuffer.allocate(BYTES).putLong(count).putDouble(mean).putDouble(m2).array();
    }

    public static RunningStats fromBytes(byte[] bytes) {
        if (bytes == null) {
            return EMPTY;
        }
        if (bytes.length != BYTES) {
            throw new IllegalArgumentException("RunningStats needs " + BYTES + " bytes, got " + bytes.length);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        return new RunningStats(b.getLong(), b.getDouble(), b.getDouble());
    }
}
