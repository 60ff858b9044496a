package io.salsa.scorer;

import io.salsa.events.Rollout;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A deterministic test double of the reward model: score = 1000·version + response length + first token/1000,
 * so a test can tell from a score which version produced it; token ids at or above {@code vocabSize} are
 * rejected, and a rollout whose first response token is {@link #POISON} makes {@link #score} throw.
 */
final class LengthRewardModel implements RewardScorerModel {

    static final int POISON = 666;

    private final String name;
    private final long version;
    private final int vocabSize;
    private final long delayMs;
    final AtomicBoolean closed = new AtomicBoolean();
    int calls;

    LengthRewardModel(String name, long version) {
        this(name, version, 1000);
    }

    LengthRewardModel(String name, long version, int vocabSize) {
        this(name, version, vocabSize, 0);
    }

    /** {@code delayMs} per batch stands in for model time, so real-broker tests can stop an instance mid-stream. */
    LengthRewardModel(String name, long version, int vocabSize, long delayMs) {
        this.name = name;
        this.version = version;
        this.vocabSize = vocabSize;
        this.delayMs = delayMs;
    }

    static float expected(long version, Rollout r) {
        return 1000f * version + r.getResponseTokenIds().size() + r.getResponseTokenIds().get(0) / 1000f;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long version() {
        return version;
    }

    @Override
    public Optional<String> rejectReason(Rollout rollout) {
        for (int id : rollout.getResponseTokenIds()) {
            if (id >= vocabSize) {
                return Optional.of("token id " + id + " is outside the vocabulary of " + vocabSize);
            }
        }
        return Optional.empty();
    }

    @Override
    public float[] score(List<Rollout> batch) {
        if (closed.get()) {
            throw new IllegalStateException("scored with a closed model");
        }
        calls++;
        if (delayMs > 0) {
            try {
                Thread.sleep(delayMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
        float[] out = new float[batch.size()];
        for (int i = 0; i < out.length; i++) {
            if (batch.get(i).getResponseTokenIds().get(0) == POISON) {
                throw new IllegalArgumentException("poison rollout");
            }
            out[i] = expected(version, batch.get(i));
        }
        return out;
    }

    @Override
    public void close() {
        closed.set(true);
    }
}
