package io.salsa.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.llama.LlamaModel;
import io.salsa.model.lm.lora.LoraAdapter;
import io.salsa.model.lm.lora.LoraConfig;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class MemoryEstimateTest {

    /** Tiny shapes covering every parameter the estimate counts: biases, GQA, explicit head_dim, tied or not. */
    private static List<LlamaConfig> tinyShapes() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode qwen2 = json.createObjectNode().put("model_type", "qwen2").put("hidden_size", 32)
                .put("intermediate_size", 48).put("num_hidden_layers", 2).put("num_attention_heads", 4)
                .put("num_key_value_heads", 2).put("max_position_embeddings", 32).put("vocab_size", 50)
                .put("eos_token_id", 0).put("tie_word_embeddings", true);
        ObjectNode llama = json.createObjectNode().put("model_type", "llama").put("hidden_size", 24)
                .put("intermediate_size", 40).put("num_hidden_layers", 3).put("num_attention_heads", 4)
                .put("num_key_value_heads", 1).put("head_dim", 8).put("max_position_embeddings", 32)
                .put("vocab_size", 60).put("eos_token_id", 0).put("tie_word_embeddings", false)
                .put("attention_bias", true).put("mlp_bias", true);
        return List.of(LlamaConfig.fromJson(qwen2), LlamaConfig.fromJson(llama));
    }

    @Test
    void shouldCountTheParametersARealModelAllocates() {
        for (LlamaConfig c : tinyShapes()) {
            try (LlamaModel plain = LlamaModel.random(c, GptModel.Head.NONE, 1, Device.cpu());
                 LlamaModel policy = LlamaModel.random(c, GptModel.Head.VALUE, 1, Device.cpu())) {
                assertEquals(plain.parameterCount(), MemoryEstimate.baseParameters(c), c.toString());
                MemoryEstimate e = MemoryEstimate.of(c, 0, MemoryEstimate.DEFAULT_LORA_TARGETS, 2, 8);
                assertEquals(policy.parameterCount(), e.parameters(), c.toString());
                assertEquals(e.parameters(), e.trainable());
                assertEquals(4L * policy.parameterCount(), e.weights());
                assertEquals(e.weights(), e.gradients());
                assertEquals(2 * e.weights(), e.adamMoments());
                assertEquals(4L * plain.parameterCount(), e.reference());
                assertEquals(16L * 4 * MemoryEstimate.activationFloatsPerToken(c, 8), e.activations());
                assertEquals(e.weights() + e.gradients() + e.adamMoments() + e.reference() + e.activations(), e.total());
            }
        }
    }

    @Test
    void shouldCountTheParametersARealLoraAdapterAllocates() {
        List<String> all = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
        for (LlamaConfig c : tinyShapes()) {
            for (List<String> targets : List.of(MemoryEstimate.DEFAULT_LORA_TARGETS, all)) {
                try (LlamaModel policy = LlamaModel.random(c, GptModel.Head.VALUE, 1, Device.cpu());
                     LoraAdapter adapter = LoraAdapter.create(policy, LoraConfig.of(4, 8, 0, targets, null), 1)) {
                    MemoryEstimate e = MemoryEstimate.of(c, 4, targets, 2, 8);
                    assertEquals(adapter.parameterCount(), MemoryEstimate.loraParameters(c, 4, targets), targets.toString());
                    assertEquals(policy.parameterCount() + adapter.parameterCount(), e.parameters());
                    assertEquals(adapter.parameterCount() + c.hiddenSize() + 1, e.trainable());
                    assertEquals(4 * e.trainable(), e.gradients());
                }
            }
        }
        assertThrows(IllegalArgumentException.class,
                () -> MemoryEstimate.loraParameters(tinyShapes().get(0), 4, List.of("c_attn")));
    }

    @Test
    void shouldPrintTheTableOfAFolderAndRefuseAnUnknownModelNamingTheShapes(@TempDir Path dir) throws Exception {
        ModelBenchCommandTest.tinyQwen2(dir);
        StdOut.Run run = StdOut.capture(() -> new CommandLine(new MemoryBenchCommand()).execute("--model",
                dir.toString(), "--model", "qwen2.5-0.5b", "--batch", "2", "--seq-len", "16", "--lora", "8"));
        assertEquals(0, run.exitCode(), run.out());
        List<String> lines = run.out().lines().toList();
        assertEquals("training memory, float32, batch 2 × 16 tokens, LoRA r=8 on q_proj,v_proj + value head", lines.get(0));
        assertTrue(lines.get(1).startsWith(dir.getFileName() + ": "), lines.get(1));
        // 494,032,768 (Qwen2.5-0.5B) + 897 (value head) + 24 layers × r 8 × (q 896+896 + v 896+128)
        assertEquals("qwen2.5-0.5b: 494,574,337 parameters with the value head, 541,569 trained", lines.get(2));
        for (String component : new MemoryEstimate(0, 0, 0, 0, 0, 0, 0).rows().keySet()) {
            assertEquals(2, lines.stream().filter(l -> l.contains(" " + component + " ")).count(), component);
        }

        StdOut.Run bad = StdOut.captureErr(() -> new CommandLine(new MemoryBenchCommand()).execute("--model", "gpt-5"));
        assertEquals(2, bad.exitCode());
        assertTrue(bad.out().contains("neither a model folder nor a named shape (llama-2-7b, llama-3.2-1b, "
                + "qwen2.5-0.5b, qwen2.5-1.5b, qwen2.5-7b)"), bad.out());
        assertEquals(2, new CommandLine(new MemoryBenchCommand()).execute("--lora", "-1"));
    }
}
