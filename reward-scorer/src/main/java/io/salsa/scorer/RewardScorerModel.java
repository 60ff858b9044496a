package io.salsa.scorer;

import io.salsa.events.Rollout;
import java.util.List;
import java.util.Optional;

/**
 * The reward model as the scorer sees it — a batch of rollouts in, one scalar per rollout out — so the
 * Kafka Streams topology does not depend on how the model is implemented or loaded.
 */
public interface RewardScorerModel extends AutoCloseable {

    /** Name of the reward model (the key of its checkpoints on the reward-models topic). */
    String name();

    /** Version of the weights in use; stamped on every score this model produces. */
    long version();

    /**
     * Why this model cannot score {@code rollout} (for example a token id outside its vocabulary), or empty
     * when it can. Checked before scoring so one bad record never fails a whole batch.
     */
    default Optional<String> rejectReason(Rollout rollout) {
        return Optional.empty();
    }

    /** Scores a batch: element {@code i} is the scalar reward of {@code batch.get(i)}. */
    float[] score(List<Rollout> batch);

    /** Releases the weights; called once no batch uses the model any more. */
    @Override
    void close();
}
