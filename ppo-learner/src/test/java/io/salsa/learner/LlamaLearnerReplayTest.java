package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.events.BatchManifest;
import io.salsa.events.BlobRef;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.learner.ppo.PpoConfig;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.llama.LlamaModel;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.schemas.KafkaSettings;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleBiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The learner on a Llama-style policy (GQA, rotary positions, TRL value head) over Kafka: rollouts of the policy
 * scored by a tiny Llama reward model (sequence-classification head) → learner steps → policy checkpoints, a soup
 * (the KL reference) swapped mid-run for another Llama, a restart that resumes from the checkpoint and its optimiser
 * state, then {@code replay} reproducing every checkpoint bit for bit.
 */
@ExtendWith(KafkaExtension.class)
class LlamaLearnerReplayTest {

    private static final String RUN = "llama";
    private static final int BATCH = 8;

    /** A tiny Llama over the learner fixture's 64-token vocabulary: 4 query heads over 2 KV heads, untied head. */
    static LlamaConfig tinyLlama() throws IOException {
        return LlamaConfig.fromJson(new ObjectMapper().readTree("""
                {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
                 "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": false, "vocab_size": 64,
                 "bos_token_id": 0, "eos_token_id": [0, 1], "pad_token_id": 1, "hidden_act": "silu"}"""));
    }

    static Path llamaFolder(Path dir, GptModel.Head head, long seed) throws IOException {
        try (LlamaModel m = LlamaModel.random(tinyLlama(), head, seed, Device.cpu())) {
            m.save(dir);
        }
        return dir;
    }

    @Test
    void llamaPpoStepsOverKafkaSurviveASoupSwapAndARestartAndReplayBitForBit(TestKafka broker, @TempDir Path tmp)
            throws Exception {
        LearnerFixture.World world = LearnerFixture.world(KafkaSettings.embedded(broker.bootstrapServers(), "llama."),
                tmp, llamaFolder(tmp.resolve("soup"), GptModel.Head.NONE, 1));
        KafkaSettings kafka = world.kafka();
        ModelFolderStore store = world.store();
        BlobRef soup2 = store.putFolder(llamaFolder(tmp.resolve("soup2"), GptModel.Head.NONE, 2), "test/soup2");
        Map<String, String> settings = LearnerFixture.settings(RUN, BATCH, 4, 2);

        long step;
        try (CausalLm rewardModel = CausalLms.load(llamaFolder(tmp.resolve("rm"), GptModel.Head.SCORE, 3),
                GptModel.Head.SCORE, Device.cpu())) {
            ToDoubleBiFunction<int[], int[]> reward = (prompt, response) -> score(rewardModel, prompt, response);
            try (PpoLearner learner = PpoLearner.start(LearnerConfig.fromMap(settings), kafka, store,
                    LearnerFixture.gptFactory(), () -> false)) {
                LmPolicyTrainer trainer = (LmPolicyTrainer) learner.policy();
                assertEquals("llama", trainer.policy().modelType());
                LearnerFixture.writeRollouts(kafka, trainer.policy(), RUN, 0, 2 * BATCH, 11, reward, 1);
                learner.runUntil(2, () -> false);
                LearnerFixture.publishSoup(kafka, 2, soup2);
                step = LearnerFixture.trainUntilSoupThenToACheckpoint(learner, kafka, RUN, BATCH, 2, 2, reward);
                assertEquals(2, learner.state().soup().version(), "the Llama soup 2 became the reference");
            }
            PolicyCheckpoint beforeRestart = LearnerTopics.latestCheckpoint(kafka, RUN);
            assertNotNull(beforeRestart);
            assertEquals(step, beforeRestart.getStep());

            // the restarted learner resumes the Llama checkpoint (weights, AdamW moments) and trains on
            step = LearnerFixture.resumeAndTrainTwoSteps(settings, kafka, store, BATCH, step, reward);
        }

        List<BatchManifest> manifests = LearnerFixture.manifests(kafka, RUN);
        assertEquals(step, manifests.size());
        assertTrue(manifests.stream().anyMatch(m -> m.getSoupVersion() == 1)
                && manifests.stream().anyMatch(m -> m.getSoupVersion() == 2));
        PolicyCheckpoint latest = LearnerTopics.latestCheckpoint(kafka, RUN);
        assertEquals(step, latest.getStep());
        // a checkpoint is a Llama folder with the TRL value head that trained
        Path checkpoint = store.fetchFolder(latest.getBlob());
        assertEquals("llama", CausalLms.modelType(checkpoint));
        try (CausalLm trained = CausalLms.load(checkpoint, GptModel.Head.VALUE, Device.cpu());
             CausalLm initial = CausalLms.load(world.soupDir(), GptModel.Head.VALUE, Device.cpu())) {
            assertTrue(maxAbsDiff(trained.weights("v_head.summary.weight"), initial.weights("v_head.summary.weight"))
                    > 0, "the value head trained");
            assertTrue(maxAbsDiff(trained.weights("model.layers.0.self_attn.k_proj.weight"),
                    initial.weights("model.layers.0.self_attn.k_proj.weight")) > 0, "the policy trained");
        }

        LearnerFixture.assertReplaysBitForBit(kafka, store, RUN, step);
    }

    @Test
    void aGpt2ReferenceForALlamaPolicyIsRefusedNamingWhatDiffers(@TempDir Path tmp) throws IOException {
        Path folder = llamaFolder(tmp.resolve("policy"), GptModel.Head.NONE, 4);
        Path gpt = LearnerFixture.tinyModel(tmp.resolve("gpt"), 1);
        PpoConfig fp32 = PpoConfig.fromMap(Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LmPolicyTrainer.open(fp32, folder, gpt, Device.cpu()));
        assertTrue(e.getMessage().contains("model_type gpt2 vs llama"), e.getMessage());
    }

    @Test
    void aShardedCheckpointIsRecordedUnderTheHashOfItsIndexAndShards(@TempDir Path tmp) throws IOException {
        Path sharded = tmp.resolve("sharded");
        try (LlamaModel m = LlamaModel.random(tinyLlama(), GptModel.Head.VALUE, 5, Device.cpu())) {
            m.save(sharded, 20_000);
        }
        assertTrue(java.nio.file.Files.isRegularFile(sharded.resolve(io.salsa.model.safetensors.Checkpoint.INDEX)));
        String sha = CheckpointPublisher.weightsSha256(sharded);
        assertEquals(sha, CheckpointPublisher.weightsSha256(sharded));
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(sharded)) {
            Path shard = files.filter(f -> f.getFileName().toString().matches("model-.*-of-.*\\.safetensors"))
                    .sorted().reduce((a, b) -> b).orElseThrow();
            byte[] bytes = java.nio.file.Files.readAllBytes(shard);
            bytes[bytes.length - 1] ^= 1;
            java.nio.file.Files.write(shard, bytes);
        }
        assertTrue(!sha.equals(CheckpointPublisher.weightsSha256(sharded)), "a changed shard changes the hash");
    }

    @Test
    void theHeldOutCheckScoresALlamaPolicyDeterministically(@TempDir Path tmp) throws Exception {
        io.salsa.task.TaskDataset data = io.salsa.task.TaskDataset.generate(
                io.salsa.task.TaskConfig.defaults(42, io.salsa.task.TaskConfig.DEFAULT_ENTITIES));
        java.nio.file.Files.writeString(tmp.resolve(io.salsa.model.lm.ModelFolder.TOKENIZER), data.tokenizerJson());
        int vocab;
        try (io.salsa.model.tokenizer.SalsaTokenizer tok = io.salsa.model.tokenizer.SalsaTokenizer.load(tmp)) {
            vocab = tok.vocabSize();
        }
        LlamaConfig config = LlamaConfig.fromJson(new ObjectMapper().readTree(
                tinyLlama().toJson(false).put("vocab_size", vocab).toString()));
        try (LlamaModel policy = LlamaModel.random(config, GptModel.Head.VALUE, 3, Device.cpu());
             HeldOutEvaluator eval = HeldOutEvaluator.forTask(42, io.salsa.task.TaskConfig.DEFAULT_ENTITIES, 4, 8,
                     tmp)) {
            double first = eval.evaluate(policy);
            assertTrue(Double.isFinite(first));
            assertEquals(first, eval.evaluate(policy), 0.0, "greedy decoding makes the score a function of the weights");
        }
    }

    /** The reward model's score of prompt + response (one sequence, no padding). */
    private static double score(CausalLm rm, int[] prompt, int[] response) {
        long[] ids = new long[prompt.length + response.length];
        for (int i = 0; i < prompt.length; i++) {
            ids[i] = prompt[i];
        }
        for (int i = 0; i < response.length; i++) {
            ids[prompt.length + i] = response[i];
        }
        try (NDManager scope = rm.newScope()) {
            NDArray in = scope.create(new long[][] {ids});
            return rm.scores(in, null).toFloatArray()[0];
        }
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
