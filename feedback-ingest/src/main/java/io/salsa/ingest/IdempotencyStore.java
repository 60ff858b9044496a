package io.salsa.ingest;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * Remembers the outcome of the most recent answers by (rater, Idempotency-Key), so that a retried request gets
 * the original response instead of producing a second event.
 *
 * <p>Bounded (least recently used entries fall off) and in memory; what makes it survive a restart is that
 * every acknowledged answer is on the feedback topic with its rater and key, and {@link FeedbackHistory}
 * reloads the newest {@code capacity} of them before the HTTP port opens. The preference id is derived from
 * (rater, key) alone, so even a retry that slips past the store (older than the window) yields an event with
 * the same id, which downstream consumers can drop.
 */
public final class IdempotencyStore {

    /** A response as it was sent, replayed byte for byte. */
    public record Outcome(int status, String body) { }

    /** One remembered request: what it asked (to detect key reuse) and how it ended or will end. */
    public record Entry(String fingerprint, CompletableFuture<Outcome> outcome) { }

    private final LinkedHashMap<String, Entry> entries;

    public IdempotencyStore(int capacity) {
        this.entries = new LinkedHashMap<>(1024, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
                // an entry still waiting for Kafka is never evicted: losing it could let a retry publish twice
                return size() > capacity && eldest.getValue().outcome().isDone();
            }
        };
    }

    /** The entry for this key if there is one, otherwise {@code candidate} is stored and {@code null} returned. */
    public synchronized Entry putIfAbsent(String raterId, String key, Entry candidate) {
        return entries.putIfAbsent(storeKey(raterId, key), candidate);
    }

    /** Records a finished outcome (used when reloading from the topic). */
    public synchronized void putDone(String raterId, String key, String fingerprint, Outcome outcome) {
        entries.put(storeKey(raterId, key), new Entry(fingerprint, CompletableFuture.completedFuture(outcome)));
    }

    /** Forgets an entry whose request failed for certain, so a retry may publish. */
    public synchronized void remove(String raterId, String key, Entry entry) {
        entries.remove(storeKey(raterId, key), entry);
    }

    public synchronized int size() {
        return entries.size();
    }

    /** The event id for (rater, key): the same on every retry and on every instance, across restarts. */
    public static String preferenceId(String raterId, String key) {
        return UUID.nameUUIDFromBytes(("salsa-preference\n" + raterId + "\n" + key).getBytes(StandardCharsets.UTF_8))
                .toString();
    }

    private static String storeKey(String raterId, String key) {
        return raterId + '\n' + key;
    }
}
