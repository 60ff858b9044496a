package io.salsa.schemas;

import java.time.Duration;

/**
 * How long a deleting topic keeps its records, written in the catalog so that no topic silently lives on the
 * broker's {@code log.retention.*} defaults, which differ between clusters.
 *
 * @param ms    Kafka's {@code retention.ms}: -1 = forever, else a positive number of milliseconds
 * @param bytes Kafka's {@code retention.bytes} per partition: -1 = unbounded, else a positive number of bytes
 */
public record Retention(long ms, long bytes) {

    /** Records are never deleted: {@code retention.ms=-1}, {@code retention.bytes=-1}. */
    public static final Retention FOREVER = new Retention(-1, -1);

    public Retention {
        if (ms != -1 && ms < 1) {
            throw new IllegalArgumentException("retention.ms must be -1 (forever) or >= 1, got " + ms);
        }
        if (bytes != -1 && bytes < 1) {
            throw new IllegalArgumentException("retention.bytes must be -1 (unbounded) or >= 1, got " + bytes);
        }
    }

    /** Records older than {@code days} days are deleted; no size bound. */
    public static Retention days(int days) {
        return new Retention(Duration.ofDays(days).toMillis(), -1);
    }

    /** The same time bound, and at most {@code bytes} per partition (the oldest segments go first). */
    public Retention atMostBytes(long bytes) {
        return new Retention(ms, bytes);
    }

    public boolean forever() {
        return ms == -1 && bytes == -1;
    }

    /**
     * Whether limit {@code mine} keeps at least what limit {@code theirs} keeps, -1 being infinite: then changing a
     * topic's limit from {@code theirs} to {@code mine} deletes nothing.
     */
    static boolean covers(long mine, long theirs) {
        return mine == -1 || (theirs != -1 && mine >= theirs);
    }

    @Override
    public String toString() {
        if (forever()) {
            return "forever";
        }
        String time = ms == -1 ? "no time limit" : (ms % 86_400_000L == 0 ? ms / 86_400_000L + " days" : ms + " ms");
        return bytes == -1 ? time : time + " or " + bytes + " bytes per partition";
    }
}
