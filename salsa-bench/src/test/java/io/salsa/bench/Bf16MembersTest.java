package io.salsa.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.soup.Soups;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The soup bench's hub-like members: bf16 shards with an index that the loader and the soup read back. */
class Bf16MembersTest {

    @Test
    void shouldWriteBf16ShardsWithAnIndexThatLoadAndSoup(@TempDir Path dir) throws Exception {
        ObjectNode config = new ObjectMapper().createObjectNode().put("model_type", "qwen2").put("hidden_size", 32)
                .put("intermediate_size", 64).put("num_hidden_layers", 2).put("num_attention_heads", 4)
                .put("num_key_value_heads", 2).put("max_position_embeddings", 32).put("vocab_size", 50)
                .put("eos_token_id", 0);
        Map<String, long[]> tensors = Bf16Members.tensors(config);
        long bytes = Bf16Members.write(dir.resolve("a"), config, tensors, 8_000, 0);
        Bf16Members.write(dir.resolve("b"), config, tensors, 8_000, 1);
        long numel = tensors.values().stream().mapToLong(s -> java.util.Arrays.stream(s).reduce(1, (x, y) -> x * y)).sum();
        assertEquals(2 * numel, bytes, "two bytes a weight");
        long shards;
        try (var files = Files.list(dir.resolve("a"))) {
            shards = files.filter(f -> f.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count();
        }
        assertTrue(shards > 2, "8 kB shards: several, got " + shards);
        try (CausalLm a = CausalLms.load(dir.resolve("a"), GptModel.Head.NONE, Device.cpu());
             CausalLm b = CausalLms.load(dir.resolve("b"), GptModel.Head.NONE, Device.cpu())) {
            String name = "model.layers.1.mlp.down_proj.weight";
            float[] wa = a.weights(name);
            for (float v : wa) {
                assertEquals(v, Float.intBitsToFloat(Float.floatToRawIntBits(v) & 0xFFFF0000), "bf16-exact values");
                assertTrue(v >= -0.5f && v < 0.5f);
            }
            Soups.build(List.of(Soups.Member.of(dir.resolve("a")), Soups.Member.of(dir.resolve("b"))), dir.resolve("soup"));
            try (CausalLm soup = CausalLms.load(dir.resolve("soup"), GptModel.Head.NONE, Device.cpu())) {
                float[] wb = b.weights(name);
                float[] mean = new float[wa.length];
                for (int i = 0; i < wa.length; i++) {
                    // the soup stays bf16: the float32 mean rounded to nearest even
                    mean[i] = io.salsa.model.safetensors.Halfs.bf16ToFloat(
                            io.salsa.model.safetensors.Halfs.floatToBf16(0.5f * wa[i] + 0.5f * wb[i]));
                }
                assertArrayEquals(mean, soup.weights(name));
            }
        }
    }
}
