package io.salsa.scorer;

import io.salsa.events.RewardModelCheckpoint;

/** Turns a published checkpoint into a ready-to-use model, so how weights are fetched and verified is pluggable. */
@FunctionalInterface
public interface RewardModelLoader {

    /**
     * Loads the checkpoint's weights completely (fetch, verify sha256, build the model); throws when any step
     * fails, in which case the caller keeps the previous model in service.
     */
    RewardScorerModel load(RewardModelCheckpoint checkpoint) throws Exception;
}
