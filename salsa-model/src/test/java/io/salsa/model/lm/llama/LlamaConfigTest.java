package io.salsa.model.lm.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Reading hub-style configs (Llama-3.2 with llama3 RoPE scaling, several EOS ids, no pad) and the RoPE rescaling rules. */
class LlamaConfigTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The fields of meta-llama/Llama-3.2-1B's config.json (transformers 4.x layout). */
    static ObjectNode llama32() {
        return LlamaShapes.json("llama-3.2-1b");
    }

    @Test
    void shouldKnowTheNamedShapes() {
        LlamaConfig qwen = LlamaShapes.config("qwen2.5-0.5b");
        assertEquals(64, qwen.headDim());
        assertTrue(qwen.qkvBias() && qwen.tieWordEmbeddings());
        assertEquals(List.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), qwen.layerWindows(),
                "use_sliding_window false: full attention everywhere");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LlamaShapes.config("gpt-5"));
        assertTrue(e.getMessage().contains("llama-3.2-1b, qwen2.5-0.5b"), e.getMessage());
    }

    @Test
    void shouldReadAHubLlama32Config() {
        LlamaConfig c = LlamaConfig.fromJson(llama32());
        assertEquals(4, c.groupSize());
        assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
        assertEquals(128001, c.eosTokenId());
        assertEquals(-1, c.padTokenId());
        assertEquals(128001, c.padOrEos(), "no pad id: EOS pads, as in generate");
        assertEquals("bfloat16", c.dtype());
        assertEquals(new LlamaConfig.RopeScaling("llama3", 32.0, 1.0, 4.0, 8192), c.ropeScaling());
        assertEquals(c, LlamaConfig.fromJson(c.toJson(false)).withDtype(c.dtype()), "5.x layout written, read back equal");
    }

    @Test
    void shouldRescaleRopeFrequenciesByBandWithLlama3() {
        LlamaConfig scaled = LlamaConfig.fromJson(llama32());
        ObjectNode plain = llama32();
        plain.putNull("rope_scaling");
        float[] base = Rope.inverseFrequencies(LlamaConfig.fromJson(plain));
        float[] inv = Rope.inverseFrequencies(scaled);
        double oldCtx = 8192;
        int kept = 0;
        int divided = 0;
        int between = 0;
        for (int i = 0; i < inv.length; i++) {
            double wavelength = 2 * Math.PI / base[i];
            if (wavelength < oldCtx / 4) {
                assertEquals(base[i], inv[i], "short wavelengths are kept (" + i + ")");
                kept++;
            } else if (wavelength > oldCtx / 1) {
                assertEquals(base[i] / 32.0, inv[i], base[i] * 1e-6, "long wavelengths are divided by the factor (" + i + ")");
                divided++;
            } else {
                assertTrue(inv[i] < base[i] && inv[i] > base[i] / 32.0, "the band between is interpolated (" + i + ")");
                between++;
            }
        }
        assertTrue(kept > 0 && divided > 0 && between > 0, kept + " kept, " + divided + " divided, " + between + " between");
    }

    @Test
    void shouldDivideEveryFrequencyWithLinearScaling() {
        ObjectNode c = llama32();
        c.putObject("rope_scaling").put("type", "linear").put("factor", 4.0);
        ObjectNode plain = llama32();
        plain.remove("rope_scaling");
        float[] base = Rope.inverseFrequencies(LlamaConfig.fromJson(plain));
        float[] inv = Rope.inverseFrequencies(LlamaConfig.fromJson(c));
        for (int i = 0; i < inv.length; i++) {
            assertEquals((float) (base[i] / 4.0), inv[i]);
        }
    }

    @Test
    void shouldUseFamilyDefaults() {
        ObjectNode gemma = JSON.createObjectNode();
        gemma.put("model_type", "gemma").put("hidden_size", 48).put("intermediate_size", 128).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("head_dim", 16).put("max_position_embeddings", 64)
                .put("vocab_size", 300).put("eos_token_id", 1);
        LlamaConfig g = LlamaConfig.fromJson(gemma);
        assertTrue(g.tieWordEmbeddings(), "Gemma ties by default");
        assertEquals("gelu_pytorch_tanh", g.hiddenAct());
        assertEquals(4, g.numKvHeads(), "no num_key_value_heads: one kv head per query head");
        assertEquals(10000.0, g.ropeTheta());
        ObjectNode qwen = gemma.deepCopy().put("model_type", "qwen2").put("hidden_act", "silu");
        qwen.remove("head_dim");
        LlamaConfig q = LlamaConfig.fromJson(qwen);
        assertTrue(q.qkvBias() && !q.outputBias(), "Qwen2: bias on q/k/v, not o");
        assertEquals(12, q.headDim(), "head_dim defaults to hidden / heads");
        ObjectNode mistral = qwen.deepCopy().put("model_type", "mistral").put("sliding_window", 4096);
        assertEquals(List.of(4096, 4096), LlamaConfig.fromJson(mistral).layerWindows());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LlamaConfig.fromJson(qwen.deepCopy().put("use_sliding_window", true)));
        assertTrue(e.getMessage().contains("use_sliding_window"), e.getMessage());
    }
}
