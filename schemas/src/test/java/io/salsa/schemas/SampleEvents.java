package io.salsa.schemas;

import io.salsa.events.BatchManifest;
import io.salsa.events.BlobRef;
import io.salsa.events.Choice;
import io.salsa.events.DeadLetter;
import io.salsa.events.GuardEvent;
import io.salsa.events.OffsetRange;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.Preference;
import io.salsa.events.PreferenceResponse;
import io.salsa.events.ChatTurn;
import io.salsa.events.Prompt;
import io.salsa.events.RewardModelCheckpoint;
import io.salsa.events.Rollout;
import io.salsa.events.ScoredRollout;
import io.salsa.events.SftModelLanded;
import io.salsa.events.SoupManifest;
import io.salsa.events.SoupMember;
import io.salsa.events.SoupMethod;
import io.salsa.events.TrainingMetrics;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/** One filled-in event of every type, with every optional field set, for round-trip tests. */
public final class SampleEvents {

    private SampleEvents() {
    }

    public static BlobRef blob(String name) {
        return new BlobRef("file:///blobs/" + name + ".safetensors", "ab".repeat(32), 1234L);
    }

    public static Rollout rollout(int tokens) {
        List<Integer> ids = new ArrayList<>();
        List<Float> logps = new ArrayList<>();
        for (int i = 0; i < tokens; i++) {
            ids.add((i * 7919) % 50257);
            logps.add(-0.01f * (i % 300));
        }
        return Rollout.newBuilder().setRolloutId("gen-1/p-1/0/3").setPromptId("p-1")
                .setPromptTokenIds(List.of(15496, 11, 995)).setResponseTokenIds(ids).setBehaviourLogProbs(logps)
                .setStoppedAtEos(true).setPolicyRunId("run-1").setPolicyVersion(3).setGeneratorId("gen-1")
                .setSampleIndex(0).setSeed(42).setTemperature(0.7f).setTopK(50).setTopP(0.95f)
                .setPromptText("Hello, world").setResponseText("é → ünïcode").setGenerationMs(812)
                .setCreatedAtMs(1_700_000_000_000L).build();
    }

    /** Topic → one event for it, every topic of the catalog once. */
    public static Map<Topic<String, ? extends SpecificRecord>, SpecificRecord> everyTopic() {
        Map<Topic<String, ? extends SpecificRecord>, SpecificRecord> m = new LinkedHashMap<>();
        m.put(Topics.PROMPTS, Prompt.newBuilder().setPromptId("p-1").setText("Tell me a joke")
                .setTokenIds(List.of(1, 2, 3)).setSplit("train").setEpoch(2)
                .setMetadata(Map.of("entity", "cat")).setCreatedAtMs(1L)
                .setMessages(List.of(new ChatTurn("system", "Be brief."), new ChatTurn("user", "Tell me a joke")))
                .build());
        m.put(Topics.ROLLOUTS, rollout(16));
        m.put(Topics.FEEDBACK, Preference.newBuilder().setPreferenceId("pref-1").setIdempotencyKey("idem-1")
                .setPromptId("p-1").setPromptText("Tell me a joke").setTaskId("task-9").setRaterId("simulated:len")
                .setResponseA(new PreferenceResponse("r-1", "A joke", List.of(4, 5), 3L))
                .setResponseB(new PreferenceResponse(null, "Another", List.of(), null))
                .setChoice(Choice.B).setRating(null).setReason("funnier").setSubmittedAtMs(2L).build());
        m.put(Topics.SCORED_ROLLOUTS, ScoredRollout.newBuilder().setRollout(rollout(8)).setScore(0.5f)
                .setRawScore(1.5f).setRewardModelName("rm").setRewardModelVersion(2).setScorerId("scorer-1")
                .setScoredAtMs(3L).build());
        m.put(Topics.SFT_MODELS, SftModelLanded.newBuilder().setModelId("sft-a").setBlob(blob("sft-a"))
                .setBaseModel("gpt2-tiny").setSeed(7).setDataSha256("cd".repeat(32)).setDataDescription("toy")
                .setSteps(100).setEvalLoss(2.5).setLandedAtMs(4L).build());
        m.put(Topics.SOUP, SoupManifest.newBuilder().setRecipe("salsa-k2").setVersion(1).setBaseModel("gpt2-tiny")
                .setMethod(SoupMethod.UNIFORM)
                .setMembers(List.of(new SoupMember("sft-a", blob("sft-a"), 0.5),
                        new SoupMember("sft-b", blob("sft-b"), 0.5)))
                .setBlob(blob("soup")).setCreatedAtMs(5L).build());
        m.put(Topics.POLICY, PolicyCheckpoint.newBuilder().setRunId("run-1").setVersion(4).setStep(40)
                .setBlob(blob("policy")).setSoupRecipe("salsa-k2").setSoupVersion(1).setInitFrom("soup:salsa-k2@1")
                .setRewardModelVersion(2L).setCreatedAtMs(6L).build());
        m.put(Topics.REWARD_MODELS, RewardModelCheckpoint.newBuilder().setName("rm").setVersion(2)
                .setBlob(blob("rm")).setInitFrom("sft-a").setTrainPairs(900).setHeldOutPairs(100)
                .setHeldOutAccuracy(0.71).setSeed(3).setCreatedAtMs(7L).build());
        m.put(Topics.LEARNER_BATCHES, BatchManifest.newBuilder().setRunId("run-1").setStep(40).setSeed(99)
                .setRanges(List.of(new OffsetRange("scored-rollouts", 0, 10L, 74L)))
                .setRecordCount(64).setDroppedStale(1).setSoupRecipe("salsa-k2").setSoupVersion(1)
                .setPolicyVersionBefore(3).setPolicyVersionAfter(4).setCreatedAtMs(8L).build());
        m.put(Topics.METRICS, TrainingMetrics.newBuilder().setRunId("run-1").setStep(40).setSoupRecipe("salsa-k2")
                .setSoupVersion(1).setPolicyVersion(3).setMetrics(Map.of("objective/kl", 0.02, "ppo/loss", -0.1))
                .setGuardEvents(List.of(new GuardEvent("length_collapse", "warn", "mean length 3.1 < 4")))
                .setCreatedAtMs(9L).build());
        m.put(Topics.DEAD_LETTERS, DeadLetter.newBuilder().setSourceTopic("rollouts").setPartition(1).setOffset(17)
                .setKey(ByteBuffer.wrap(new byte[] {'k'})).setValue(ByteBuffer.wrap(new byte[] {1, 2, 3}))
                .setError("WRONG_MAGIC_BYTE").setErrorClass("io.salsa.schemas.serde.SerdeException")
                .setService("reward-scorer").setFailedAtMs(10L).build());
        return m;
    }
}
