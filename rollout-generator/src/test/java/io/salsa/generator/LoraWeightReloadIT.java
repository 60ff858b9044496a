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
 * the base alone), an adapter recorded for another base is refused (skipped, the generator keeps going), and a
 * later adapter on the same base swaps only A and B into the model already loaded (one copy of the base).
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
        Path adapter3 = adapter(base, dir.resolve("adapter3"), 3, LoraSoups.baseSha256(base));
        LocalBlobStore store = new LocalBlobStore(dir.resolve("blobs"));
        // the shipped factory, recording the adapter samplers it opens (to check they share one base)
        SamplerFactory shipped = ModelRolloutSampler.factory();
        List<ModelRolloutSampler> adapterSamplers = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        SamplerFactory recording = new SamplerFactory() {
            @Override
            public RolloutSampler open(Path modelDir, GeneratorConfig.Device device) throws IOException {
                return shipped.open(modelDir, device);
            }

            @Override
            public RolloutSampler openAdapter(Path baseDir, Path adapterDir, GeneratorConfig.Device device)
                    throws IOException {
                ModelRolloutSampler s = (ModelRolloutSampler) shipped.openAdapter(baseDir, adapterDir, device);
                adapterSamplers.add(s);
                return s;
            }
        };
        BlobRef baseRef = WeightReloadIT.ref(store.put(base, "soup/default/1.tar"));
        try (GenHarness h = new GenHarness(kafka, "lora", dir.resolve("state"))) {
            GeneratorConfig config = h.config("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "2",
                    "SALSA_GENERATOR_BATCH_SIZE", "2", "SALSA_GENERATOR_MAX_NEW_TOKENS", "10",
                    "SALSA_GENERATOR_POLICY_RUN_ID", "run-l", "SALSA_GENERATOR_INITIAL_WEIGHTS", base.toString());
            h.publishPrompts(WeightReloadIT.prompts("a", 2));
            try (GenHarness.Running g = h.start(config, recording,
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

                // v3 on the same base: only its A and B are loaded, into the model already in use
                h.publish(Topics.POLICY, "run-l", checkpoint(3, WeightReloadIT.ref(store.put(adapter3, "policy/run-l/3.tar")), baseRef));
                GenHarness.await("the switch to adapter 3", Duration.ofSeconds(60), () -> g.app.policyVersion() == 3);
                h.publishPrompts(WeightReloadIT.prompts("d", 2));
                GenHarness.await("rollouts from adapter 3", Duration.ofSeconds(60), () -> h.count(Topics.ROLLOUTS) >= 20);
            }
            assertEquals(2, adapterSamplers.size(), "v1 and v3 (v2 was refused)");
            assertTrue(adapterSamplers.get(0).sharesBaseWith(adapterSamplers.get(1)), "one copy of the base");
            List<Rollout> all = h.rollouts();
            assertEquals(20, all.size());
            List<Rollout> rollouts = all.stream().filter(r -> r.getPolicyVersion() != 3).toList();
            List<Rollout> third = all.stream().filter(r -> r.getPolicyVersion() == 3).toList();
            assertEquals(4, third.size());
            third.forEach(r -> assertTrue(r.getPromptId().startsWith("d"), r.getPromptId()));
            try (ModelRolloutSampler plain = ModelRolloutSampler.open(base, GeneratorConfig.Device.CPU);
                 ModelRolloutSampler adapted = ModelRolloutSampler.openAdapter(base, adapter,
                         GeneratorConfig.Device.CPU)) {
                rollouts.forEach(r -> assertEquals(!r.getPromptId().startsWith("a"), r.getPolicyVersion() == 1,
                        r.getPromptId() + " is stamped with the weights in use"));
                int differ = WeightReloadIT.differFromOther(rollouts, plain, adapted);
                assertNotEquals(0, differ, "the adapter must change the rollouts");
                try (ModelRolloutSampler adapted3 = ModelRolloutSampler.openAdapter(base, adapter3,
                        GeneratorConfig.Device.CPU)) {
                    assertNotEquals(0, WeightReloadIT.differFromOther(third, adapted, adapted3),
                            "adapter 3's rollouts are its own, not adapter 1's");
                }
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
