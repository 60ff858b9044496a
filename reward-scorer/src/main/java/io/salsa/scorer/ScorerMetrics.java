package io.salsa.scorer;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one scorer instance, shared by its stream threads, for the progress log and the benchmark's
 * split of time between the model and everything else.
 */
public final class ScorerMetrics {

    private final LongAdder scored = new LongAdder();
    private final LongAdder deadLettered = new LongAdder();
    private final LongAdder batches = new LongAdder();
    private final LongAdder modelNanos = new LongAdder();
    private final LongAdder batchNanos = new LongAdder();

    void recordBatch(int scoredCount, long modelTimeNanos, long batchTimeNanos) {
        scored.add(scoredCount);
        batches.increment();
        modelNanos.add(modelTimeNanos);
        batchNanos.add(batchTimeNanos);
    }

    void recordDeadLetter() {
        deadLettered.increment();
    }

    /** Rollouts scored and forwarded. */
    public long scored() {
        return scored.sum();
    }

    /** Rollouts sent to the dead-letter topic (intake and scoring). */
    public long deadLettered() {
        return deadLettered.sum();
    }

    /** Batches given to the model. */
    public long batches() {
        return batches.sum();
    }

    /** Time spent inside {@link RewardScorerModel#score}. */
    public long modelNanos() {
        return modelNanos.sum();
    }

    /** Time spent in batch flushes (decode, model, normalisation, forwarding). */
    public long batchNanos() {
        return batchNanos.sum();
    }
}
