package io.salsa.generator;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The generator's Kafka transaction: the rollouts and dead letters of a batch and the prompt offsets they finish
 * are committed together or not at all, so a prompt's samples are on the rollouts topic exactly once for every
 * read_committed reader, whenever the generator dies (kill -9 between a batch's send and its offset commit included:
 * the open transaction is aborted when the instance restarts with the same transactional id, or when it times out).
 *
 * <p>A transaction is opened by the first send of a loop iteration ({@link #begin}) and committed by
 * {@link #commit}, which first flushes the producer, so every send's callback has reported to the
 * {@link OffsetTracker} and the offsets committed with the outputs are exactly those of prompts whose outputs are
 * all in this or an earlier committed transaction. Used from the generator's loop thread only.
 */
final class OutputTransaction {

    private static final Logger LOG = LoggerFactory.getLogger(OutputTransaction.class);

    /** What the loop must do after {@link #commit}. */
    enum Outcome {
        /** Nothing was open, or everything landed with its offsets. */
        COMMITTED,
        /** The transaction was aborted (e.g. the group rebalanced under it): rewind to the committed offsets. */
        ABORTED
    }

    private final KafkaProducer<String, byte[]> producer;
    private final OffsetTracker tracker;
    private final GeneratorStats stats;
    private final AtomicReference<Throwable> sendFailure;
    private final String transactionalId;
    /** Partitions the open transaction wrote (from the sends' callbacks): each gets one marker when it ends. */
    private final Set<TopicPartition> written = ConcurrentHashMap.newKeySet();
    private boolean open;

    OutputTransaction(KafkaProducer<String, byte[]> producer, OffsetTracker tracker, GeneratorStats stats,
                      AtomicReference<Throwable> sendFailure, String transactionalId) {
        this.producer = producer;
        this.tracker = tracker;
        this.stats = stats;
        this.sendFailure = sendFailure;
        this.transactionalId = transactionalId;
    }

    /**
     * Registers the producer's transactional id with the coordinator, which aborts any transaction an earlier
     * instance with this id left open (a kill -9 mid-commit) and fences that instance. Retries a broker that does
     * not answer in time for as long as {@code stopped} is false; false when stopped first.
     */
    boolean init(BooleanSupplier stopped) {
        while (!stopped.getAsBoolean()) {
            try {
                producer.initTransactions();
                return true;
            } catch (TimeoutException e) {
                LOG.warn("registering transactional id {} timed out (retrying): {}", transactionalId, e.toString());
            } catch (KafkaException e) {
                throw fatal("could not register transactional id " + transactionalId, e);
            }
        }
        return false;
    }

    /** Opens a transaction unless one is open; called before every send. */
    void begin() {
        if (!open) {
            try {
                producer.beginTransaction();
            } catch (KafkaException e) {
                throw fatal("could not begin a transaction", e);
            }
            open = true;
        }
    }

    /** A send of the open transaction landed on {@code tp} (called from the producer's I/O thread). */
    void wrote(String topic, int partition) {
        written.add(new TopicPartition(topic, partition));
    }

    /** True while a transaction is open (sends since the last {@link #commit}). */
    boolean isOpen() {
        return open;
    }

    /**
     * Commits the open transaction (if any) with the offsets of every prompt of {@code c}'s assignment that is now
     * finished. A commit the broker does not confirm in time is retried (the same transaction, so nothing twice)
     * unless {@code stopped}; an abortable error aborts the transaction: its outputs never become visible and the
     * loop must {@link Outcome#ABORTED rewind}. A send the broker refused, a fenced producer (another live instance
     * with this generator id) or a refused login end the service.
     */
    Outcome commit(KafkaConsumer<byte[], byte[]> c, BooleanSupplier stopped) {
        if (!open) {
            return Outcome.COMMITTED;
        }
        long t0 = System.nanoTime();
        try {
            producer.flush(); // every send completed and its callback ran: the tracker is current
            Throwable failed = sendFailure.get();
            if (failed != null) {
                abortQuietly();
                throw new IllegalStateException("a rollout could not be published; its transaction was aborted and "
                        + "its prompt will be regenerated: " + failed, failed);
            }
            Map<TopicPartition, OffsetAndMetadata> offsets = tracker.positions(c.assignment());
            if (!offsets.isEmpty()) {
                producer.sendOffsetsToTransaction(offsets, c.groupMetadata());
            }
            while (true) {
                try {
                    producer.commitTransaction();
                    break;
                } catch (TimeoutException e) {
                    if (stopped.getAsBoolean()) {
                        throw e;
                    }
                    LOG.warn("committing a transaction timed out (retrying the same commit): {}", e.toString());
                }
            }
            open = false;
            stats.transactions.incrementAndGet();
            countMarkers();
            return Outcome.COMMITTED;
        } catch (ProducerFencedException | OutOfOrderSequenceException | AuthorizationException
                 | UnsupportedVersionException e) {
            open = false;
            throw fatal("cannot commit: this producer is fenced or refused (another generator running with id "
                    + transactionalId + "? a transaction that outlived transaction.timeout.ms?)", e);
        } catch (KafkaException e) {
            LOG.warn("aborting a transaction ({}); its prompts are regenerated from the committed offsets", e.toString());
            abortQuietly();
            return Outcome.ABORTED;
        } finally {
            stats.commitNanos.addAndGet(System.nanoTime() - t0);
        }
    }

    /** The commit or abort markers the ended transaction left, one per partition it wrote: they take offsets too. */
    private void countMarkers() {
        stats.markers.addAndGet(written.size());
        written.clear();
    }

    private void abortQuietly() {
        open = false;
        stats.abortedTransactions.incrementAndGet();
        countMarkers();
        try {
            producer.abortTransaction();
        } catch (KafkaException e) {
            throw fatal("could not abort a transaction", e);
        }
    }

    private IllegalStateException fatal(String what, KafkaException e) {
        return new IllegalStateException(what + ": " + e, e);
    }
}
