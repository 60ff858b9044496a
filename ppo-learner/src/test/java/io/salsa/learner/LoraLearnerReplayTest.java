package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.salsa.events.BatchManifest;
import io.salsa.events.BlobRef;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.PolicyKind;
import io.salsa.learner.ppo.PpoConfig;
import io.salsa.model.lm.Adaptable;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.ModelFolder;
import io.salsa.model.lm.lora.LoraAdapter;
import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.soup.LoraSoups;
import io.salsa.model.train.SftConfig;
import io.salsa.model.train.SftData;
import io.salsa.model.train.SftTrainer;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.schemas.KafkaSettings;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The learner in LoRA mode: the policy is the soup (or an SFT model) plus an adapter, the KL reference the same model
 * with the adapter off (one copy of the base), checkpoints hold only the adapter and the value head, a new soup
 * becomes the base (unless the base is an SFT model), and a restart and {@code salsa replay} reproduce every adapter
 * checkpoint bit for bit, with adapter dropout too.
 */
@ExtendWith(KafkaExtension.class)
class LoraLearnerReplayTest {

    private static final String RUN = "lora";
    private static final int BATCH = 8;
    /** Rewards responses holding token 7: something for the adapter to learn. */
    private static final ToDoubleFunction<int[]> REWARD = r -> {
        int n = 0;
        for (int t : r) {
            n += t == 7 ? 1 : 0;
        }
        return n;
    };

    private static Map<String, String> loraSettings(String run) {
        Map<String, String> settings = LearnerFixture.settings(run, BATCH, 4, 2);
        settings.put("lora_r", "4");
        settings.put("lora_alpha", "8");
        settings.put("lora_targets", "q_proj,v_proj");
        return settings;
    }

    private static long bytes(NDManager manager) {
        return manager.getManagedArrays().stream().mapToLong(a -> a.size() * a.getDataType().getNumOfBytes()).sum();
    }

    /**
     * The whole LoRA chain starts here: two LoRA SFT adapters (seeds 1, 2) of one tiny Llama base, trained
     * with {@link SftTrainer} on token sequences, saved in PEFT's format naming the base, then merged and averaged
     * by {@link LoraSoups#build} into the soup the LoRA PPO run below starts from.
     */
    static Path loraSftSoup(Path tmp) throws IOException {
        Path base = LlamaLearnerReplayTest.llamaFolder(tmp.resolve("base"), GptModel.Head.NONE, 1);
        String q = "model.layers.0.self_attn.q_proj.weight";
        List<Path> adapters = new ArrayList<>();
        for (int seed = 1; seed <= 2; seed++) {
            Path out = tmp.resolve("sft-lora-" + seed);
            try (CausalLm model = CausalLms.load(base, GptModel.Head.NONE, Device.cpu());
                    LoraAdapter adapter = LoraAdapter.create((Adaptable) model,
                            LoraConfig.of(4, 8, 0, List.of("q_proj", "v_proj"), base.toString()), seed)) {
                SplittableRandom rng = new SplittableRandom(seed);
                List<SftData.Sequence> data = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    data.add(new SftData.Sequence(rng.ints(12, 1, model.vocabSize()).toArray(), 4));
                }
                SftTrainer.train(model, adapter.parameters(), data, data, new SftConfig(2, 1e-2, 4, 0, 0, 1.0, 0.0, seed),
                        line -> { });
                adapter.setBaseSha256(LoraSoups.baseSha256(base));
                adapter.save(out);
            }
            adapters.add(out);
        }
        Path soup = tmp.resolve("soup");
        LoraSoups.build(base, adapters, soup);
        try (SafeTensors b = SafeTensors.open(base.resolve(ModelFolder.WEIGHTS));
                SafeTensors merged = SafeTensors.open(soup.resolve(ModelFolder.WEIGHTS))) {
            assertFalse(java.util.Arrays.equals(b.readFloats(q), merged.readFloats(q)),
                    "the adapters moved the soup off its base");
        }
        return soup;
    }

    @Test
    void loraPpoOverKafkaSwapsTheSoupAsBaseSurvivesARestartAndReplaysBitForBit(TestKafka broker, @TempDir Path tmp)
            throws Exception {
        LearnerFixture.World world = LearnerFixture.world(KafkaSettings.embedded(broker.bootstrapServers(), "lora."),
                tmp, loraSftSoup(tmp));
        KafkaSettings kafka = world.kafka();
        ModelFolderStore store = world.store();
        Path soup2Dir = LlamaLearnerReplayTest.llamaFolder(tmp.resolve("soup2"), GptModel.Head.NONE, 2);
        BlobRef soup2 = store.putFolder(soup2Dir, "test/soup2");
        Map<String, String> settings = loraSettings(RUN);

        long step;
        try (PpoLearner learner = PpoLearner.start(LearnerConfig.fromMap(settings), kafka, store,
                LearnerFixture.gptFactory(), () -> false)) {
            LmPolicyTrainer trainer = (LmPolicyTrainer) learner.policy();
            assertNotNull(trainer.lora());
            assertSame(trainer.policy(), trainer.referenceModel(), "the reference is the policy's own base");
            LearnerFixture.writeRollouts(kafka, trainer.policy(), RUN, 0, 2 * BATCH, 11, REWARD);
            learner.runUntil(2, () -> false);
            LearnerFixture.publishSoup(kafka, 2, soup2);
            step = LearnerFixture.trainUntilSoupThenToACheckpoint(learner, kafka, RUN, BATCH, 2, 2,
                    (prompt, response) -> REWARD.applyAsDouble(response));
            assertEquals(2, learner.state().soup().version(), "soup 2 became the base");
            try (CausalLm s2 = CausalLms.load(soup2Dir, GptModel.Head.NONE, Device.cpu())) {
                String w = "model.layers.0.self_attn.q_proj.weight";
                assertArrayEquals(s2.weights(w), trainer.policy().weights(w), "the base now holds soup 2's weights");
            }
        }
        PolicyCheckpoint beforeRestart = LearnerTopics.latestCheckpoint(kafka, RUN);
        assertEquals(step, beforeRestart.getStep());
        assertEquals(PolicyKind.LORA_ADAPTER, beforeRestart.getKind());
        assertEquals(soup2, beforeRestart.getBase(), "the adapter's base is the soup it trained on last");

        step = LearnerFixture.resumeAndTrainTwoSteps(settings, kafka, store, BATCH, step,
                (prompt, response) -> REWARD.applyAsDouble(response));

        List<BatchManifest> manifests = LearnerFixture.manifests(kafka, RUN);
        assertEquals(step, manifests.size());
        PolicyCheckpoint latest = LearnerTopics.latestCheckpoint(kafka, RUN);
        Path checkpoint = store.fetchFolder(latest.getBlob());
        assertTrue(Files.isRegularFile(checkpoint.resolve(LoraAdapter.WEIGHTS_FILE)));
        assertTrue(Files.isRegularFile(checkpoint.resolve(LoraConfig.FILE)));
        assertTrue(Files.isRegularFile(checkpoint.resolve(LmPolicyTrainer.VALUE_HEAD_FILE)));
        assertFalse(Files.exists(checkpoint.resolve(ModelFolder.WEIGHTS)), "no base weights in an adapter checkpoint");
        assertTrue(latest.getBlob().getSizeBytes() < Files.size(world.soupDir().resolve(ModelFolder.WEIGHTS)),
                "the adapter blob is smaller than the base's weights alone");
        // the PEFT folder loads onto soup 2 and changed the model: B trained away from 0
        try (CausalLm base = CausalLms.load(soup2Dir, GptModel.Head.NONE, Device.cpu());
             LoraAdapter adapter = LoraAdapter.load((io.salsa.model.lm.Adaptable) base, checkpoint)) {
            assertEquals(LoraSoups.baseSha256(soup2Dir), adapter.baseSha256());
            float[] b = adapter.parameters().get(
                    "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight").getArray().toFloatArray();
            double max = 0;
            for (float v : b) {
                max = Math.max(max, Math.abs(v));
            }
            assertTrue(max > 0, "lora_B trained");
        }

        LearnerFixture.assertReplaysBitForBit(kafka, store, RUN, step);
    }

    @Test
    void loraPpoFromAnSftModelKeepsItAsBaseAndReferenceAndReplaysDropoutBitForBit(TestKafka broker, @TempDir Path tmp)
            throws Exception {
        String run = "lora-sft";
        LearnerFixture.World world = LearnerFixture.world(KafkaSettings.embedded(broker.bootstrapServers(), "lsft."),
                tmp, LlamaLearnerReplayTest.llamaFolder(tmp.resolve("soup"), GptModel.Head.NONE, 1));
        KafkaSettings kafka = world.kafka();
        ModelFolderStore store = world.store();
        Path sftDir = LlamaLearnerReplayTest.llamaFolder(tmp.resolve("sft"), GptModel.Head.NONE, 3);
        BlobRef sft = store.putFolder(sftDir, "test/sft-m1");
        String sftTopic = kafka.topic(io.salsa.schemas.Topics.SFT_MODELS);
        try (var p = LearnerFixture.producer(kafka)) {
            p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(sftTopic, "m1",
                    kafka.valueSerde(io.salsa.schemas.Topics.SFT_MODELS).serialize(sftTopic,
                            io.salsa.events.SftModelLanded.newBuilder().setModelId("m1").setBlob(sft)
                                    .setBaseModel("tiny-base").setSeed(3).setDataSha256("00").setLandedAtMs(1L)
                                    .build()))).get();
            // an adapter on sft-models is no model to start from: refused at start, naming it
            p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(sftTopic, "m2",
                    kafka.valueSerde(io.salsa.schemas.Topics.SFT_MODELS).serialize(sftTopic,
                            io.salsa.events.SftModelLanded.newBuilder().setModelId("m2").setBlob(sft)
                                    .setBaseModel("tiny-base").setSeed(4).setDataSha256("00").setLandedAtMs(2L)
                                    .setKind(io.salsa.events.SftModelKind.LORA_ADAPTER).setBase(sft)
                                    .setBaseWeightsSha256("ab".repeat(32)).build()))).get();
        }
        Map<String, String> fromAdapter = loraSettings(run + "-adapter");
        fromAdapter.put("init_from", "sft:m2");
        String why = assertThrows(IllegalArgumentException.class, () -> PpoLearner.start(
                LearnerConfig.fromMap(fromAdapter), kafka, store, LearnerFixture.gptFactory(), () -> false).close())
                .getMessage();
        assertTrue(why.contains("init_from=sft:m2") && why.contains("LoRA adapter"), why);
        Map<String, String> settings = loraSettings(run);
        settings.put("init_from", "sft:m1");
        settings.put("lora_dropout", "0.1");
        settings.put("save_steps", "1"); // v0..v4 from four steps: enough checkpoints for the replay to compare
        String q = "model.layers.0.self_attn.q_proj.weight";

        long step = 0;
        try (PpoLearner learner = PpoLearner.start(LearnerConfig.fromMap(settings), kafka, store,
                LearnerFixture.gptFactory(), () -> false)) {
            LmPolicyTrainer trainer = (LmPolicyTrainer) learner.policy();
            assertSame(trainer.policy(), trainer.referenceModel(), "one model: the SFT base, adapter off = reference");
            assertEquals(LoraSoups.baseSha256(sftDir), trainer.baseSha256());
            LearnerFixture.publishSoup(kafka, 2, store.putFolder(tmp.resolve("soup"), "test/soup-again"));
            for (int i = 0; i < 2; i++) {
                LearnerFixture.writeRollouts(kafka, trainer.policy(), run, learner.state().policyVersion(), BATCH,
                        40 + i, (prompt, response) -> REWARD.applyAsDouble(response), 1);
                learner.runUntil(++step, () -> false);
            }
            assertEquals(1, learner.state().soup().version(), "a new soup is not the reference of an SFT-based run");
            try (CausalLm m = CausalLms.load(sftDir, GptModel.Head.NONE, Device.cpu())) {
                assertArrayEquals(m.weights(q), trainer.policy().weights(q), "the base is still the SFT model");
            }
        }
        PolicyCheckpoint cp = LearnerTopics.latestCheckpoint(kafka, run);
        assertEquals(PolicyKind.LORA_ADAPTER, cp.getKind());
        assertEquals("sft:m1", cp.getInitFrom());
        assertEquals(sft, cp.getBase(), "generators load the SFT model as the adapter's base");
        try (CausalLm base = CausalLms.load(store.fetchFolder(cp.getBase()), GptModel.Head.NONE, Device.cpu());
             LoraAdapter adapter = LoraAdapter.load((io.salsa.model.lm.Adaptable) base, store.fetchFolder(cp.getBlob()))) {
            assertEquals(LoraSoups.baseSha256(sftDir), adapter.baseSha256());
            assertEquals(0.1, adapter.config().dropout(), "PEFT's lora_dropout is recorded");
        }

        step = LearnerFixture.resumeAndTrainTwoSteps(settings, kafka, store, BATCH, step,
                (prompt, response) -> REWARD.applyAsDouble(response));
        assertEquals(sft, LearnerTopics.latestCheckpoint(kafka, run).getBase(), "the resumed run kept the SFT base");
        // dropout masks come from each step's recorded seed: the replay draws them again and matches every checkpoint
        LearnerFixture.assertReplaysBitForBit(kafka, store, run, step);
    }

    @Test
    void loraModeHoldsOneCopyOfTheBaseAndOptimisesOnlyTheAdapterAndValueHead(@TempDir Path tmp) throws Exception {
        Path soup = LearnerFixture.tinyModel(tmp.resolve("soup"), 1);
        PpoConfig full = PpoConfig.fromMap(Map.of());
        PpoConfig lora = PpoConfig.fromMap(Map.of("lora_r", "2", "lora_alpha", "4", "lora_targets", "c_attn"));
        long baseBytes;
        long fullBytes;
        int policyArrays;
        try (LmPolicyTrainer t = LmPolicyTrainer.open(full, soup, soup, Device.cpu())) {
            assertTrue(t.policy() != t.referenceModel());
            baseBytes = 4 * t.policy().parameterCount();
            policyArrays = t.policy().parameters().size();
            // the policy's manager holds its weights and their two AdamW moments; the reference is a second model
            assertEquals(3 * policyArrays, t.policy().manager().getManagedArrays().size());
            assertEquals(3 * baseBytes, bytes(t.policy().manager()));
            assertEquals(baseBytes - 4 * (t.policy().hiddenSize() + 1), bytes(t.referenceModel().manager()),
                    "full mode: a second copy of the base (without value head) for the reference");
            fullBytes = bytes(t.policy().manager()) + bytes(t.referenceModel().manager());
            t.savePolicy(tmp.resolve("full"));
        }
        try (LmPolicyTrainer t = LmPolicyTrainer.open(lora, soup, soup, Device.cpu())) {
            CausalLm policy = t.policy();
            assertSame(policy, t.referenceModel(), "no reference model is loaded");
            long adapterBytes = 4 * t.lora().parameterCount();
            assertEquals(2 * policy.numLayers(), t.lora().parameters().size(), "A and B of c_attn per layer");
            int trained = t.lora().parameters().size() + 2; // A, B and the value head's weight and bias
            assertEquals(policyArrays + t.lora().parameters().size() + 2 * trained,
                    policy.manager().getManagedArrays().size(),
                    "arrays: the base with its value head once, A and B, and AdamW moments of A, B and the head only");
            long headBytes = 4L * (policy.hiddenSize() + 1);
            assertEquals(baseBytes + adapterBytes + 2 * (adapterBytes + headBytes), bytes(policy.manager()),
                    "one copy of the base serves policy and reference; no moments for the frozen base");
            assertTrue(bytes(policy.manager()) < fullBytes / 3, "far below full mode's policy, moments and reference");

            Path opt = tmp.resolve("optimizer.safetensors");
            t.saveOptimizer(opt);
            try (SafeTensors st = SafeTensors.open(opt)) {
                assertEquals(2 * (t.lora().parameters().size() + 2), st.tensors().size(),
                        "AdamW moments of A, B and the value head only: " + st.tensors().keySet());
                assertTrue(st.tensors().containsKey("adam.m." + GptModel.VALUE_WEIGHT));
                assertFalse(st.tensors().keySet().stream().anyMatch(k -> k.contains("wte")), "no base moments");
            }
            Path folder = tmp.resolve("policy");
            t.savePolicy(folder);
            assertFalse(Files.exists(folder.resolve(ModelFolder.WEIGHTS)));
            long fullFolder = folderBytes(tmp.resolve("full"));
            long loraFolder = folderBytes(folder);
            assertTrue(loraFolder < fullFolder, loraFolder + " vs " + fullFolder);
            // measured by docs/measurements/lora.md: the policy folder a checkpoint blob packs, without tokenizer/card
            System.out.printf("checkpoint policy folder: full %d bytes, lora r=2 c_attn %d bytes; model bytes: full "
                    + "mode %d (policy + moments + reference), lora mode %d%n", fullFolder, loraFolder, fullBytes,
                    bytes(policy.manager()));
        }
    }

    private static long folderBytes(Path dir) throws IOException {
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            long sum = 0;
            for (Path f : files.toList()) {
                sum += Files.size(f);
            }
            return sum;
        }
    }

    @Test
    void badLoraSettingsAndAnAdapterOfAnotherBaseAreRefusedNamingThem(@TempDir Path tmp) throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PpoConfig.fromMap(Map.of("lora_r", "-1", "lora_targets", "c_attn")));
        assertTrue(e.getMessage().contains("lora_r must be >= 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PpoConfig.fromMap(Map.of("lora_r", "4")));
        assertTrue(e.getMessage().contains("lora_targets"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> PpoConfig.fromMap(Map.of("lora_r", "4", "lora_targets", "c_attn", "lora_dropout", "1")));
        assertTrue(e.getMessage().contains("lora_dropout must be in [0, 1)"), e.getMessage());

        Path soup = LearnerFixture.tinyModel(tmp.resolve("soup"), 1);
        PpoConfig unknown = PpoConfig.fromMap(Map.of("lora_r", "2", "lora_targets", "q_proj"));
        e = assertThrows(IllegalArgumentException.class, () -> LmPolicyTrainer.open(unknown, soup, soup, Device.cpu()));
        assertTrue(e.getMessage().contains("lora_targets=q_proj") && e.getMessage().contains("'q_proj'")
                && e.getMessage().contains("c_attn"), e.getMessage());

        // an adapter checkpoint trained on soup A does not restore onto soup B
        PpoConfig lora = PpoConfig.fromMap(Map.of("lora_r", "2", "lora_targets", "c_attn"));
        Path other = LearnerFixture.tinyModel(tmp.resolve("other"), 2);
        Path ckpt = tmp.resolve("ckpt");
        Path opt = tmp.resolve("opt.safetensors");
        try (LmPolicyTrainer a = LmPolicyTrainer.open(lora, soup, soup, Device.cpu())) {
            a.savePolicy(ckpt);
            a.saveOptimizer(opt);
        }
        try (LmPolicyTrainer b = LmPolicyTrainer.open(lora, other, other, Device.cpu())) {
            IOException refused = assertThrows(IOException.class, () -> b.restore(ckpt, opt));
            assertTrue(refused.getMessage().contains(LoraSoups.baseSha256(soup))
                    && refused.getMessage().contains(LoraSoups.baseSha256(other))
                    && refused.getMessage().contains(LoraAdapter.WEIGHTS_FILE), refused.getMessage());
        }
    }
}
