package io.salsa.generator;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counters of one generator instance, shared by the loop (which writes them) and whoever reports them (logs,
 * the benchmark, tests), so the share of wall time spent outside the model can be measured, not guessed.
 */
public final class GeneratorStats {

    final AtomicLong prompts = new AtomicLong();
    final AtomicLong deadLetters = new AtomicLong();
    final AtomicLong rolloutsSent = new AtomicLong();
    final AtomicLong rolloutsAcked = new AtomicLong();
    final AtomicLong tokens = new AtomicLong();
    final AtomicLong batches = new AtomicLong();
    final AtomicLong modelNanos = new AtomicLong();
    final AtomicLong decodeNanos = new AtomicLong();
    final AtomicLong pauses = new AtomicLong();
    final AtomicLong weightSwitches = new AtomicLong();
    final AtomicLong serdeNanos = new AtomicLong();
    final AtomicLong pollNanos = new AtomicLong();
    final AtomicLong commitNanos = new AtomicLong();
    final AtomicLong transactions = new AtomicLong();
    final AtomicLong abortedTransactions = new AtomicLong();
    final AtomicLong markers = new AtomicLong();
    final AtomicLong firstBatchStartNanos = new AtomicLong();
    final AtomicLong lastAckNanos = new AtomicLong();
    final AtomicLong lastBatchSentNanos = new AtomicLong();

    /** Prompts taken from the prompts topic (valid or not). */
    public long prompts() {
        return prompts.get();
    }

    /** Prompts sent to the dead-letter topic. */
    public long deadLetters() {
        return deadLetters.get();
    }

    /** Rollouts handed to the producer. */
    public long rolloutsSent() {
        return rolloutsSent.get();
    }

    /** Rollouts the broker acknowledged. */
    public long rolloutsAcked() {
        return rolloutsAcked.get();
    }

    /** Transactions committed (each a batch's rollouts and dead letters with the prompt offsets they finish). */
    public long transactions() {
        return transactions.get();
    }

    /** Transactions aborted (their outputs never visible, their prompts regenerated). */
    public long abortedTransactions() {
        return abortedTransactions.get();
    }

    /**
     * Offsets this instance's outputs took, for lag arithmetic: rollouts handed to the producer plus the markers of
     * its ended transactions (a marker takes an offset of every partition a transaction wrote).
     */
    public long offsetsSent() {
        return rolloutsSent.get() + markers.get();
    }

    /** {@link #offsetsSent()} with acknowledged rollouts instead of sent ones. */
    public long offsetsAcked() {
        return rolloutsAcked.get() + markers.get();
    }

    /** Response tokens generated. */
    public long tokens() {
        return tokens.get();
    }

    /** Model calls. */
    public long batches() {
        return batches.get();
    }

    /** Wall time inside the sampler (the model), nanoseconds. */
    public long modelNanos() {
        return modelNanos.get();
    }

    /** Wall time turning response ids back into text, nanoseconds. */
    public long decodeNanos() {
        return decodeNanos.get();
    }

    /** Times the loop paused the prompt consumer at the staleness bound. */
    public long pauses() {
        return pauses.get();
    }

    /** Times the loop switched to newer weights. */
    public long weightSwitches() {
        return weightSwitches.get();
    }

    /** {@link System#nanoTime()} when the first batch started, or 0 before it. */
    public long firstBatchStartNanos() {
        return firstBatchStartNanos.get();
    }

    /** {@link System#nanoTime()} of the newest rollout acknowledgement, or 0 before it. */
    public long lastAckNanos() {
        return lastAckNanos.get();
    }

    /** Loop-thread time building, serialising and handing rollouts to the producer, nanoseconds. */
    public long serdeNanos() {
        return serdeNanos.get();
    }

    /** Loop-thread time in {@code poll} and decoding prompts, nanoseconds. */
    public long pollNanos() {
        return pollNanos.get();
    }

    /** Loop-thread time committing offsets, nanoseconds. */
    public long commitNanos() {
        return commitNanos.get();
    }

    /** {@link System#nanoTime()} when the newest batch's rollouts had all been handed to the producer. */
    public long lastBatchSentNanos() {
        return lastBatchSentNanos.get();
    }
}
