package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.events.BlobRef;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.PolicyKind;
import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.lora.LoraAdapter;
import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.soup.LoraSoups;
import io.salsa.runtime.blob.LocalBlobStore;
import io.salsa.schemas.Topics;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adapter-only checkpoints reach the generator: a {@code LORA_ADAPTER} PolicyCheckpoint naming its base is loaded as
 * base + adapter and switched to between batches, its rollouts equal a recomputation with base + adapter (and not
 * the base alone), and an adapter recorded for another base is refused (skipped, the generator keeps going).
 */
@ExtendWith(KafkaExtension.class)
class LoraWeightReloadIT {

    @TempDir
    Path dir;

    /** An adapter on {@code base} with random A and B (so it changes the model), recording {@code baseSha256}. */
    static Path adapter(Path base, Path out, long seed, String baseSha256) throws IOException {
        try (GptModel model = GptModel.load(base, GptModel.Head.NONE, Device.cpu());
             LoraAdapter lora = LoraAdapter.create(model, LoraConfig.of(4, 16, 0, List.of("c_attn", "c_fc"), null),
                     seed)) {
            SplittableRandom rng = new SplittableRandom(seed);
            lora.parameters().forEach((key, p) -> {
                if (key.endsWith("lora_B.weight")) {
                    float[] b = new float[Math.toIntExact(p.getArray().size())];
                    for (int i = 0; i < b.length; i++) {
                        b[i] = (float) rng.nextDouble(-0.5, 0.5);
                    }
                    p.getArray().set(b);
                }
            });
            lora.setBaseSha256(baseSha256);
            lora.save(out);
        }
        return out;
    }

    @Test
    void shouldSwapInALoraCheckpointAndSampleFromBasePlusAdapter(TestKafka kafka) throws Exception {
        Path base = TinyModels.write(dir.resolve("base"), 10);
        Path adapter = adapter(base, dir.resolve("adapter1"), 1, LoraSoups.baseSha256(base));
        Path foreign = adapter(base, dir.resolve("adapter2"), 2,
                LoraSoups.baseSha256(TinyModels.write(dir.resolve("other"), 11)));
        LocalBlobStore store = new LocalBlobStore(dir.resolve("blobs"));
        BlobRef baseRef = WeightReloadIT.ref(store.put(base, "soup/default/1.tar"));
        try (GenHarness h = new GenHarness(kafka, "lora", dir.resolve("state"))) {
            GeneratorConfig config = h.config("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "2",
                    "SALSA_GENERATOR_BATCH_SIZE", "2", "SALSA_GENERATOR_MAX_NEW_TOKENS", "10",
                    "SALSA_GENERATOR_POLICY_RUN_ID", "run-l", "SALSA_GENERATOR_INITIAL_WEIGHTS", base.toString());
            h.publishPrompts(WeightReloadIT.prompts("a", 2));
            try (GenHarness.Running g = h.start(config, ModelRolloutSampler.factory(),
                    new BlobWeightFetcher(store, dir.resolve("state").resolve("weights")))) {
                GenHarness.await("rollouts from the base", Duration.ofSeconds(60), () -> h.count(Topics.ROLLOUTS) >= 4);
                h.publish(Topics.POLICY, "run-l", checkpoint(1, WeightReloadIT.ref(store.put(adapter, "policy/run-l/1.tar")), baseRef));
                GenHarness.await("the switch to the adapter", Duration.ofSeconds(60), () -> g.app.policyVersion() == 1);
                h.publishPrompts(WeightReloadIT.prompts("b", 4));
                GenHarness.await("rollouts from base + adapter", Duration.ofSeconds(60),
                        () -> h.count(Topics.ROLLOUTS) >= 12);

                // v2's adapter records another base's sha256: refused, v1 stays in use
                h.publish(Topics.POLICY, "run-l", checkpoint(2, WeightReloadIT.ref(store.put(foreign, "policy/run-l/2.tar")), baseRef));
                GenHarness.await("the foreign adapter is skipped", Duration.ofSeconds(60),
                        () -> g.app.skippedCheckpoints() >= 1);
                h.publishPrompts(WeightReloadIT.prompts("c", 2));
                GenHarness.await("rollouts after the refused adapter", Duration.ofSeconds(60),
                        () -> h.count(Topics.ROLLOUTS) >= 16);
                assertEquals(1, g.app.policyVersion());
            }
            List<Rollout> rollouts = h.rollouts();
            assertEquals(16, rollouts.size());
            try (ModelRolloutSampler plain = ModelRolloutSampler.open(base, GeneratorConfig.Device.CPU);
                 ModelRolloutSampler adapted = ModelRolloutSampler.openAdapter(base, adapter,
                         GeneratorConfig.Device.CPU)) {
                rollouts.forEach(r -> assertEquals(!r.getPromptId().startsWith("a"), r.getPolicyVersion() == 1,
                        r.getPromptId() + " is stamped with the weights in use"));
                int differ = WeightReloadIT.differFromOther(rollouts, plain, adapted);
                assertNotEquals(0, differ, "the adapter must change the rollouts");
            }
        }
        IOException e = assertThrows(IOException.class,
                () -> ModelRolloutSampler.openAdapter(base, foreign, GeneratorConfig.Device.CPU));
        assertTrue(e.getMessage().contains(LoraSoups.baseSha256(base)) && e.getMessage().contains("adapter2"),
                e.getMessage());
    }

    private static PolicyCheckpoint checkpoint(long version, BlobRef blob, BlobRef base) {
        return PolicyCheckpoint.newBuilder().setRunId("run-l").setVersion(version).setStep(version).setBlob(blob)
                .setSoupRecipe("default").setSoupVersion(1).setInitFrom("soup:default@1")
                .setCreatedAtMs(System.currentTimeMillis()).setKind(PolicyKind.LORA_ADAPTER).setBase(base).build();
    }
}
