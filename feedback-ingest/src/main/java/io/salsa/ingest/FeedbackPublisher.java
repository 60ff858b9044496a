package io.salsa.ingest;

import io.salsa.events.Preference;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Publishes preference events and tells the HTTP layer, without waiting, when Kafka is not taking writes: the
 * number of unacknowledged sends is capped, and once a send has gone unacknowledged for the request timeout
 * the service is "suspect" and refuses new sends at once until Kafka acknowledges something again.
 *
 * <p>A send that the HTTP layer gave up on is not cancelled: the idempotent producer keeps retrying it until
 * {@code delivery.timeout.ms}, and its idempotency entry stays in place, so a client's retry with the same key
 * joins it instead of publishing a second event.
 */
public final class FeedbackPublisher implements AutoCloseable {

    private final Producer<String, Preference> producer;
    private final String topic;
    private final Semaphore permits;
    private final int maxInFlight;
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicBoolean probing = new AtomicBoolean();
    private volatile boolean suspect;

    public FeedbackPublisher(Producer<String, Preference> producer, String topic, int maxInFlight) {
        this.producer = producer;
        this.topic = topic;
        this.maxInFlight = maxInFlight;
        this.permits = new Semaphore(maxInFlight);
    }

    /**
     * Sends one event keyed by its prompt id.
     *
     * @return completes with the record's metadata when Kafka acknowledged it ({@code acks=all}), or
     *         exceptionally when the producer gave up on it for good
     * @throws ApiException 503 at once when too many sends are pending or Kafka is known to be unreachable
     */
    public CompletableFuture<RecordMetadata> publish(Preference event) {
        // while Kafka looks down, one request at a time (and only when nothing else is pending) is let through
        // as a probe; the rest get an immediate 503 instead of queueing behind a dead broker
        boolean probe = false;
        if (suspect) {
            if (pending.get() > 0 || !probing.compareAndSet(false, true)) {
                throw new ApiException(503, "kafka_unavailable", "Kafka is not acknowledging writes right now;"
                        + " nothing was recorded. Retry later with the same Idempotency-Key", null);
            }
            probe = true;
        }
        if (!permits.tryAcquire()) {
            if (probe) {
                probing.set(false);
            }
            throw new ApiException(503, "overloaded", maxInFlight + " preferences are already waiting for Kafka;"
                    + " nothing was recorded. Retry later with the same Idempotency-Key", null);
        }
        boolean isProbe = probe;
        pending.incrementAndGet();
        CompletableFuture<RecordMetadata> acked = new CompletableFuture<>();
        try {
            producer.send(new ProducerRecord<>(topic, event.getPromptId(), event), (md, ex) -> {
                pending.decrementAndGet();
                permits.release();
                if (isProbe) {
                    probing.set(false);
                }
                if (ex == null) {
                    suspect = false;
                    acked.complete(md);
                } else {
                    suspect = true;
                    acked.completeExceptionally(ex);
                }
            });
        } catch (RuntimeException e) {
            // send() itself failed (metadata not available within max.block.ms, serialisation): not sent at all
            pending.decrementAndGet();
            permits.release();
            if (isProbe) {
                probing.set(false);
            }
            suspect = true;
            throw new ApiException(503, "kafka_unavailable", "Kafka is unavailable (" + e.getClass().getSimpleName()
                    + "); nothing was recorded. Retry later with the same Idempotency-Key", null);
        }
        return acked;
    }

    /** Called when a send went unacknowledged for the request timeout: Kafka is probably down. */
    public void markSuspect() {
        suspect = true;
    }

    /**
     * Clears the suspicion when nothing is pending and {@code brokerReachable} says Kafka answers again, so an
     * idle service reports healthy (and takes traffic back) without waiting for a request to probe it.
     */
    public void recheck(BooleanSupplier brokerReachable) {
        if (suspect && pending.get() == 0 && brokerReachable.getAsBoolean()) {
            suspect = false;
        }
    }

    /** True unless recent evidence says Kafka is not acknowledging writes. */
    public boolean kafkaUp() {
        return !suspect;
    }

    public int pending() {
        return pending.get();
    }

    /** Gives pending sends a bounded time to finish; those still pending after it fail (never acknowledged). */
    @Override
    public void close() {
        producer.close(java.time.Duration.ofSeconds(10));
    }
}
