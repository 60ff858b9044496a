package io.salsa.scorer;

import io.salsa.events.BlobRef;
import io.salsa.events.RewardModelCheckpoint;
import io.salsa.events.Rollout;
import java.util.ArrayList;
import java.util.List;

/** Builders for rollouts and checkpoints used across the scorer tests. */
final class TestRollouts {

    private TestRollouts() {
    }

    static Rollout rollout(String rolloutId, String promptId, List<Integer> response) {
        List<Float> logProbs = new ArrayList<>();
        for (int i = 0; i < response.size(); i++) {
            logProbs.add(-0.5f - i * 0.01f);
        }
        return rollout(rolloutId, promptId, response, logProbs);
    }

    static Rollout rollout(String rolloutId, String promptId, List<Integer> response, List<Float> logProbs) {
        return Rollout.newBuilder()
                .setRolloutId(rolloutId)
                .setPromptId(promptId)
                .setPromptTokenIds(List.of(5, 6, 7))
                .setResponseTokenIds(response)
                .setBehaviourLogProbs(logProbs)
                .setStoppedAtEos(true)
                .setPolicyRunId("run-1")
                .setPolicyVersion(3)
                .setGeneratorId("gen-0")
                .setSampleIndex(0)
                .setSeed(42)
                .setTemperature(1.0f)
                .setTopK(0)
                .setTopP(1.0f)
                .setGenerationMs(10)
                .setCreatedAtMs(1_700_000_000_000L)
                .build();
    }

    /** A rollout whose response is {@code length} tokens counting up from {@code first}. */
    static Rollout rolloutOfLength(String rolloutId, String promptId, int first, int length) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < length; i++) {
            ids.add(first + i);
        }
        return rollout(rolloutId, promptId, ids);
    }

    static RewardModelCheckpoint checkpoint(String name, long version, String uri) {
        return RewardModelCheckpoint.newBuilder()
                .setName(name)
                .setVersion(version)
                .setBlob(BlobRef.newBuilder().setUri(uri).setSha256("0".repeat(64)).setSizeBytes(1).build())
                .setInitFrom("sft-a")
                .setTrainPairs(10)
                .setHeldOutPairs(2)
                .setHeldOutAccuracy(0.9)
                .setSeed(1)
                .setCreatedAtMs(1_700_000_000_000L)
                .build();
    }
}
