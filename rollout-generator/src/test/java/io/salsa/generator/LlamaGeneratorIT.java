package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.events.BlobRef;
import io.salsa.events.ChatTurn;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.ModelFolder;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.llama.LlamaModel;
import io.salsa.runtime.blob.LocalBlobStore;
import io.salsa.schemas.Topics;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generator service on a Llama-style folder (GQA, rotary positions, Llama-3 chat template and tokenizer from the
 * golden {@code chat/llama3}, two EOS ids in {@code generation_config.json}): conversation prompts are rendered with
 * the template and its generation prompt, token-for-token as transformers does, and a policy checkpoint of another
 * Llama is hot-swapped in, every rollout matching exactly the version it is stamped with.
 */
@ExtendWith(KafkaExtension.class)
class LlamaGeneratorIT {

    /** transformers' apply_chat_template(add_generation_prompt=True) ids of golden chat/llama3 "single_user". */
    private static final List<Integer> CHAT_IDS = List.of(302, 303, 86, 84, 70, 83, 304, 200, 200, 41, 70, 77, 274,
            2, 222, 41, 297, 265, 260, 222, 90, 284, 32, 305, 303, 66, 84, 84, 74, 84, 85, 66, 79, 85, 304, 200, 200);
    /** {@code <|endoftext|>} and {@code <|eot_id|>} of the llama3 test tokenizer. */
    private static final Set<Integer> STOP_IDS = Set.of(0, 305);
    private static final SamplingParams PARAMS = new SamplingParams(1f, 0, 1f, 10);

    @TempDir
    Path dir;

    /** A tiny random Llama over the 306-token llama3 test tokenizer, with its template and both EOS ids. */
    static Path llamaFolder(Path folder, long seed) throws IOException {
        LlamaConfig config = LlamaConfig.fromJson(new ObjectMapper().readTree("""
                {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 96,
                 "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": true, "vocab_size": 306,
                 "bos_token_id": 302, "eos_token_id": 0, "pad_token_id": 1, "hidden_act": "silu"}"""));
        try (LlamaModel model = LlamaModel.random(config, GptModel.Head.NONE, seed, Device.cpu())) {
            model.save(folder);
        }
        for (String f : List.of(ModelFolder.TOKENIZER, ModelFolder.TOKENIZER_CONFIG)) {
            try (InputStream in = LlamaGeneratorIT.class.getResourceAsStream("/llama3/" + f)) {
                Files.copy(in, folder.resolve(f));
            }
        }
        Files.writeString(folder.resolve(ModelFolder.GENERATION_CONFIG),
                "{\"bos_token_id\": 302, \"eos_token_id\": [0, 305], \"pad_token_id\": 1}");
        return folder;
    }

    private static List<Prompt> prompts(String prefix) {
        List<Prompt> out = new ArrayList<>();
        out.add(Prompt.newBuilder().setPromptId(prefix + "chat").setText("Hello! How are you?").setCreatedAtMs(0)
                .setMessages(List.of(new ChatTurn("user", "Hello! How are you?"))).build());
        out.add(GenHarness.prompt(prefix + "text", "What is 2+2?", List.of()));
        out.add(GenHarness.prompt(prefix + "ids", "", List.of(302, 40, 41, 42)));
        return out;
    }

    @Test
    void shouldRenderChatPromptsAndHotSwapLlamaWeights(TestKafka kafka) throws Exception {
        Path v0 = llamaFolder(dir.resolve("v0"), 20);
        Path v1 = llamaFolder(dir.resolve("v1"), 21);
        LocalBlobStore store = new LocalBlobStore(dir.resolve("blobs"));
        try (GenHarness h = new GenHarness(kafka, "llama", dir.resolve("state"))) {
            GeneratorConfig config = h.config("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "2",
                    "SALSA_GENERATOR_BATCH_SIZE", "2", "SALSA_GENERATOR_MAX_NEW_TOKENS", "10",
                    "SALSA_GENERATOR_SEED", "5", "SALSA_GENERATOR_POLICY_RUN_ID", "run-l",
                    "SALSA_GENERATOR_INITIAL_WEIGHTS", v0.toString());
            h.publishPrompts(prompts("a-"));
            try (GenHarness.Running g = h.start(config, ModelRolloutSampler.factory(),
                    new BlobWeightFetcher(store, dir.resolve("state").resolve("weights")))) {
                GenHarness.await("rollouts from the initial Llama", Duration.ofSeconds(60),
                        () -> h.count(Topics.ROLLOUTS) >= 6);
                h.publish(Topics.POLICY, "run-l", checkpoint(ref(store.put(v1, "policy/run-l/1.tar"))));
                GenHarness.await("the switch to v1", Duration.ofSeconds(60), () -> g.app.policyVersion() == 1);
                h.publishPrompts(prompts("b-"));
                GenHarness.await("rollouts from v1", Duration.ofSeconds(60), () -> h.count(Topics.ROLLOUTS) >= 12);
            }
            List<Rollout> rollouts = h.rollouts();
            assertEquals(12, rollouts.size());
            Map<Long, List<Rollout>> byVersion = rollouts.stream()
                    .collect(Collectors.groupingBy(Rollout::getPolicyVersion));
            assertEquals(Set.of(0L, 1L), byVersion.keySet());
            rollouts.stream().filter(r -> r.getPromptId().startsWith("b-"))
                    .forEach(r -> assertEquals(1L, r.getPolicyVersion(), r.getPromptId() + " came after the switch"));
            rollouts.stream().filter(r -> r.getPromptId().endsWith("chat"))
                    .forEach(r -> assertEquals(CHAT_IDS, r.getPromptTokenIds(), "the rendered conversation"));

            try (ModelRolloutSampler m0 = ModelRolloutSampler.open(v0, GeneratorConfig.Device.CPU);
                 ModelRolloutSampler m1 = ModelRolloutSampler.open(v1, GeneratorConfig.Device.CPU)) {
                rollouts.stream().filter(r -> r.getPromptId().endsWith("text")).forEach(r -> assertEquals(
                        ids(m0.encode("What is 2+2?")), r.getPromptTokenIds(), "a text prompt is encoded plain"));
                int differ = 0;
                for (Rollout r : rollouts) {
                    List<Integer> response = r.getResponseTokenIds();
                    boolean endsOnStop = !response.isEmpty() && STOP_IDS.contains(response.get(response.size() - 1));
                    assertEquals(endsOnStop, r.getStoppedAtEos(), r.getRolloutId());
                    assertTrue(response.subList(0, Math.max(0, response.size() - 1)).stream()
                            .noneMatch(STOP_IDS::contains), r.getRolloutId() + " went on past an EOS id: " + response);
                    RolloutSampler.Request req = new RolloutSampler.Request(
                            r.getPromptTokenIds().stream().mapToInt(Integer::intValue).toArray(), r.getSeed());
                    RolloutSampler.Sample stamped = (r.getPolicyVersion() == 0 ? m0 : m1).sample(List.of(req), PARAMS)
                            .get(0);
                    RolloutSampler.Sample other = (r.getPolicyVersion() == 0 ? m1 : m0).sample(List.of(req), PARAMS)
                            .get(0);
                    assertEquals(ids(stamped.responseIds()), response, r.getRolloutId());
                    for (int i = 0; i < stamped.logProbs().length; i++) {
                        assertEquals(stamped.logProbs()[i], r.getBehaviourLogProbs().get(i), 1e-5, r.getRolloutId());
                    }
                    if (!ids(other.responseIds()).equals(response)) {
                        differ++;
                    }
                }
                assertNotEquals(0, differ, "the two versions' weights must give different rollouts");
            }
        }
    }

    private static List<Integer> ids(int[] ids) {
        return java.util.Arrays.stream(ids).boxed().toList();
    }

    private static BlobRef ref(io.salsa.runtime.blob.BlobRef core) {
        return BlobRef.newBuilder().setUri(core.uri().toString()).setSha256(core.sha256()).setSizeBytes(core.size())
                .build();
    }

    private static PolicyCheckpoint checkpoint(BlobRef blob) {
        return PolicyCheckpoint.newBuilder().setRunId("run-l").setVersion(1).setStep(1).setBlob(blob)
                .setSoupRecipe("default").setSoupVersion(0).setInitFrom("soup:default@0")
                .setCreatedAtMs(System.currentTimeMillis()).build();
    }
}
