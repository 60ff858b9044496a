package io.salsa.ingest;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * A token bucket per rater, so one runaway client (or a stuck key) cannot starve the others or flood the
 * feedback topic.
 */
public final class RateLimiter {

    private final double perNano;
    private final double burst;
    private final LongSupplier nanoClock;
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

    public RateLimiter(double ratePerSecond, int burst, LongSupplier nanoClock) {
        this.perNano = ratePerSecond / 1e9;
        this.burst = burst;
        this.nanoClock = nanoClock;
    }

    /**
     * Takes one token for {@code raterId}.
     *
     * @return 0 if allowed, otherwise the seconds (at least 1) after which a retry will be allowed
     */
    public long tryAcquire(String raterId) {
        Bucket b = buckets.computeIfAbsent(raterId, k -> new Bucket(burst, nanoClock.getAsLong()));
        synchronized (b) {
            long now = nanoClock.getAsLong();
            b.tokens = Math.min(burst, b.tokens + (now - b.at) * perNano);
            b.at = now;
            if (b.tokens >= 1) {
                b.tokens -= 1;
                return 0;
            }
            double waitNanos = (1 - b.tokens) / perNano;
            return Math.max(1, (long) Math.ceil(waitNanos / 1e9));
        }
    }

    private static final class Bucket {
        double tokens;
        long at;

        Bucket(double tokens, long at) {
            this.tokens = tokens;
            this.at = at;
        }
    }
}
