package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.BlobRef;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.salsa.runtime.blob.LocalBlobStore;
import io.salsa.schemas.Topics;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Weights follow the learner: a PolicyCheckpoint published mid-run (real blob store, real GPT-2 weights) is
 * loaded in the background and switched to between batches; every rollout is stamped with the version whose
 * weights produced it; a checkpoint whose blob fails verification is skipped without stopping the generator.
 */
@ExtendWith(KafkaExtension.class)
class WeightReloadIT {

    @TempDir
    Path dir;

    private static final SamplingParams PARAMS = new SamplingParams(1f, 0, 1f, 10);

    static List<Prompt> prompts(String prefix, int count) {
        List<Prompt> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(GenHarness.prompt(prefix + i, "", List.of(2 + i, 40 + 3 * i, 100 + i)));
        }
        return out;
    }

    @Test
    void shouldStampEveryRolloutWithTheVersionThatProducedIt(TestKafka kafka) throws Exception {
        Path v0 = TinyModels.write(dir.resolve("v0"), 10);
        Path v1 = TinyModels.write(dir.resolve("v1"), 11);
        LocalBlobStore store = new LocalBlobStore(dir.resolve("blobs"));
        try (GenHarness h = new GenHarness(kafka, "reload", dir.resolve("state"))) {
            GeneratorConfig config = h.config("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "2",
                    "SALSA_GENERATOR_BATCH_SIZE", "2", "SALSA_GENERATOR_MAX_NEW_TOKENS", "10",
                    "SALSA_GENERATOR_POLICY_RUN_ID", "run-w", "SALSA_GENERATOR_INITIAL_WEIGHTS", v0.toString());
            List<Prompt> before = prompts("a", 4);
            List<Prompt> after = prompts("b", 4);
            List<Prompt> afterBad = prompts("c", 3);
            h.publishPrompts(before);
            try (GenHarness.Running g = h.start(config, ModelRolloutSampler.factory(),
                    new BlobWeightFetcher(store, dir.resolve("state").resolve("weights")))) {
                GenHarness.await("rollouts from the initial weights", Duration.ofSeconds(120),
                        () -> h.count(Topics.ROLLOUTS) >= 8);
                h.publish(Topics.POLICY, "run-w", checkpoint(1, ref(store.put(v1, "policy/run-w/1.tar"))));
                GenHarness.await("the switch to v1", Duration.ofSeconds(120), () -> g.app.policyVersion() == 1);
                h.publishPrompts(after);
                GenHarness.await("rollouts from v1", Duration.ofSeconds(120), () -> h.count(Topics.ROLLOUTS) >= 16);

                // v2's record names v0's blob under a wrong hash: verification fails, v1 stays in use
                BlobRef good = ref(store.put(v0, "policy/run-w/2.tar"));
                BlobRef tampered = BlobRef.newBuilder(good).setSha256("0".repeat(64)).build();
                h.publish(Topics.POLICY, "run-w", checkpoint(2, tampered));
                h.publishPrompts(afterBad);
                GenHarness.await("rollouts after the bad checkpoint", Duration.ofSeconds(120),
                        () -> h.count(Topics.ROLLOUTS) >= 22);
                assertEquals(1, g.app.policyVersion());
                assertEquals(1, g.app.stats().weightSwitches());
            }
            List<Rollout> rollouts = h.rollouts();
            assertEquals(22, rollouts.size());
            Map<Long, List<Rollout>> byVersion = rollouts.stream().collect(Collectors.groupingBy(Rollout::getPolicyVersion));
            assertEquals(List.of(0L, 1L), byVersion.keySet().stream().sorted().toList());
            assertTrue(byVersion.get(0L).size() >= 8);
            rollouts.forEach(r -> assertEquals("run-w", r.getPolicyRunId()));
            rollouts.stream().filter(r -> !r.getPromptId().startsWith("a"))
                    .forEach(r -> assertEquals(1L, r.getPolicyVersion(), r.getPromptId() + " came after the switch"));

            // recompute every rollout with both weights: it matches exactly the version it is stamped with
            try (ModelRolloutSampler m0 = ModelRolloutSampler.open(v0, GeneratorConfig.Device.CPU);
                 ModelRolloutSampler m1 = ModelRolloutSampler.open(v1, GeneratorConfig.Device.CPU)) {
                int differ = differFromOther(rollouts, m0, m1);
                assertNotEquals(0, differ, "the two versions' weights must give different rollouts");
            }
        }
    }

    /**
     * Recomputes every rollout with the sampler of its version ({@code v0} for 0, else {@code v1}) and asserts the
     * same tokens and log-probs (1e-5); returns how many rollouts the other sampler would have answered differently.
     */
    static int differFromOther(List<Rollout> rollouts, RolloutSampler v0, RolloutSampler v1) {
        int differ = 0;
        for (Rollout r : rollouts) {
            RolloutSampler.Request req = new RolloutSampler.Request(
                    r.getPromptTokenIds().stream().mapToInt(Integer::intValue).toArray(), r.getSeed());
            RolloutSampler.Sample stamped = (r.getPolicyVersion() == 0 ? v0 : v1).sample(List.of(req), PARAMS).get(0);
            RolloutSampler.Sample other = (r.getPolicyVersion() == 0 ? v1 : v0).sample(List.of(req), PARAMS).get(0);
            assertEquals(ids(stamped), r.getResponseTokenIds(), r.getRolloutId());
            for (int i = 0; i < stamped.logProbs().length; i++) {
                assertTrue(Math.abs(stamped.logProbs()[i] - r.getBehaviourLogProbs().get(i)) < 1e-5);
            }
            if (!ids(other).equals(r.getResponseTokenIds())) {
                differ++;
            }
        }
        return differ;
    }

    private static List<Integer> ids(RolloutSampler.Sample s) {
        return java.util.Arrays.stream(s.responseIds()).boxed().toList();
    }

    static BlobRef ref(io.salsa.runtime.blob.BlobRef core) {
        return BlobRef.newBuilder().setUri(core.uri().toString()).setSha256(core.sha256()).setSizeBytes(core.size()).build();
    }

    private static PolicyCheckpoint checkpoint(long version, BlobRef blob) {
        return PolicyCheckpoint.newBuilder().setRunId("run-w").setVersion(version).setStep(version).setBlob(blob)
                .setSoupRecipe("default").setSoupVersion(0).setInitFrom("soup:default@0")
                .setCreatedAtMs(System.currentTimeMillis()).build();
    }
}
