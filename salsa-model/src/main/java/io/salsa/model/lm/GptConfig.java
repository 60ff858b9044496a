package io.salsa.model.lm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The shape of a GPT-2 model as Hugging Face's {@code config.json} states it, validated once so that every
 * model, checkpoint and soup built from it agrees on tensor names and sizes.
 *
 * @param nLayer            number of transformer blocks ({@code n_layer}, 1..1024)
 * @param nHead             attention heads per block ({@code n_head}; must divide {@code n_embd})
 * @param nEmbd             hidden width ({@code n_embd}, 1..65536)
 * @param vocabSize         vocabulary size ({@code vocab_size}, 1..2^24)
 * @param nPositions        maximum sequence length ({@code n_positions}, 1..65536)
 * @param nInner            MLP width ({@code n_inner}; Hugging Face's {@code null} means 4 × {@code n_embd})
 * @param layerNormEpsilon  LayerNorm epsilon ({@code layer_norm_epsilon}, (0, 0.1])
 * @param bosTokenId        begin-of-sequence id ({@code bos_token_id})
 * @param eosTokenId        end-of-sequence id ({@code eos_token_id}); generation stops on it
 * @param padTokenId        padding id ({@code pad_token_id}); {@code eosTokenId} when the file has none
 * @param activationFunction only {@code gelu_new} (GPT-2's tanh approximation) is supported
 */
public record GptConfig(
        int nLayer,
        int nHead,
        int nEmbd,
        int vocabSize,
        int nPositions,
        int nInner,
        double layerNormEpsilon,
        int bosTokenId,
        int eosTokenId,
        int padTokenId,
        String activationFunction) {

    /** The file name Hugging Face uses inside a model folder. */
    public static final String FILE_NAME = "config.json";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public GptConfig {
        requireRange("n_layer", nLayer, 1, 1024);
        requireRange("n_embd", nEmbd, 1, 65536);
        requireRange("n_head", nHead, 1, nEmbd);
        if (nEmbd % nHead != 0) {
            throw new IllegalArgumentException("n_head must divide n_embd, got n_head=" + nHead + ", n_embd=" + nEmbd);
        }
        requireRange("vocab_size", vocabSize, 1, 1 << 24);
        requireRange("n_positions", nPositions, 1, 65536);
        requireRange("n_inner", nInner, 1, 1 << 20);
        if (!(layerNormEpsilon > 0 && layerNormEpsilon <= 0.1)) {
            throw new IllegalArgumentException("layer_norm_epsilon must be in (0, 0.1], got " + layerNormEpsilon);
        }
        requireRange("bos_token_id", bosTokenId, 0, vocabSize - 1);
        requireRange("eos_token_id", eosTokenId, 0, vocabSize - 1);
        requireRange("pad_token_id", padTokenId, 0, vocabSize - 1);
        if (!"gelu_new".equals(activationFunction)) {
            throw new IllegalArgumentException(
                    "activation_function must be \"gelu_new\" (GPT-2's tanh GELU), got \"" + activationFunction + "\"");
        }
    }

    /** A GPT-2 config with the usual defaults: MLP 4 × width, epsilon 1e-5, GELU (tanh), the given special ids. */
    public static GptConfig of(int nLayer, int nHead, int nEmbd, int vocabSize, int nPositions,
                               int eosTokenId, int padTokenId) {
        return new GptConfig(nLayer, nHead, nEmbd, vocabSize, nPositions, 4 * nEmbd, 1e-5,
                eosTokenId, eosTokenId, padTokenId, "gelu_new");
    }

    /** Width of one attention head. */
    public int headDim() {
        return nEmbd / nHead;
    }

    /** Reads {@code config.json} from a model folder or a direct path to the file. */
    public static GptConfig load(Path path) throws IOException {
        return ModelFolder.readConfig(path, GptConfig::fromJson);
    }

    /** Builds a config from the JSON object of a Hugging Face {@code config.json}, refusing what we cannot run. */
    public static GptConfig fromJson(JsonNode root) {
        String modelType = text(root, "model_type", "gpt2");
        if (!"gpt2".equals(modelType)) {
            throw new IllegalArgumentException("model_type must be \"gpt2\", got \"" + modelType + "\"");
        }
        requireFlag(root, "tie_word_embeddings", true);
        requireFlag(root, "scale_attn_weights", true);
        requireFlag(root, "scale_attn_by_inverse_layer_idx", false);
        requireFlag(root, "reorder_and_upcast_attn", false);
        requireFlag(root, "add_cross_attention", false);
        int nEmbd = integer(root, "n_embd", 768);
        JsonNode inner = root.get("n_inner");
        int nInner = inner == null || inner.isNull() ? 4 * nEmbd : asInt("n_inner", inner);
        int eos = integer(root, "eos_token_id", 50256);
        JsonNode pad = root.get("pad_token_id");
        return new GptConfig(
                integer(root, "n_layer", 12),
                integer(root, "n_head", 12),
                nEmbd,
                integer(root, "vocab_size", 50257),
                integer(root, "n_positions", 1024),
                nInner,
                root.has("layer_norm_epsilon") ? root.get("layer_norm_epsilon").asDouble() : 1e-5,
                integer(root, "bos_token_id", 50256),
                eos,
                pad == null || pad.isNull() ? eos : asInt("pad_token_id", pad),
                text(root, "activation_function", "gelu_new"));
    }

    /** The config as Hugging Face writes it for {@code GPT2LMHeadModel}, so {@code from_pretrained} accepts it. */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("activation_function", activationFunction);
        o.put("add_cross_attention", false);
        o.putArray("architectures").add("GPT2LMHeadModel");
        o.put("attn_pdrop", 0.0);
        o.put("bos_token_id", bosTokenId);
        o.put("embd_pdrop", 0.0);
        o.put("eos_token_id", eosTokenId);
        o.put("initializer_range", 0.02);
        o.put("layer_norm_epsilon", layerNormEpsilon);
        o.put("model_type", "gpt2");
        o.put("n_embd", nEmbd);
        o.put("n_head", nHead);
        if (nInner == 4 * nEmbd) {
            o.putNull("n_inner");
        } else {
            o.put("n_inner", nInner);
        }
        o.put("n_layer", nLayer);
        o.put("n_positions", nPositions);
        o.put("pad_token_id", padTokenId);
        o.put("reorder_and_upcast_attn", false);
        o.put("resid_pdrop", 0.0);
        o.put("scale_attn_by_inverse_layer_idx", false);
        o.put("scale_attn_weights", true);
        o.put("tie_word_embeddings", true);
        o.put("torch_dtype", "float32");
        o.put("use_cache", true);
        o.put("vocab_size", vocabSize);
        return o;
    }

    /** Writes {@code config.json} into {@code dir} (created if needed). */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        JSON.writeValue(dir.resolve(FILE_NAME).toFile(), toJson());
    }

    private static void requireRange(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "], got " + value);
        }
    }

    private static void requireFlag(JsonNode root, String name, boolean supported) {
        JsonNode n = root.get(name);
        if (n != null && !n.isNull() && n.asBoolean() != supported) {
            throw new IllegalArgumentException(name + "=" + n.asBoolean() + " is not supported (only " + supported + ")");
        }
    }

    private static int integer(JsonNode root, String name, int dflt) {
        JsonNode n = root.get(name);
        return n == null || n.isNull() ? dflt : asInt(name, n);
    }

    private static int asInt(String name, JsonNode n) {
        if (n.isArray() && n.size() > 0) {
            n = n.get(0); // some configs list several EOS ids; the first is the one GPT-2 uses
        }
        if (!n.canConvertToInt() || (!n.isIntegralNumber() && n.asDouble() != n.asInt())) {
            throw new IllegalArgumentException(name + " must be an integer, got " + n);
        }
        return n.asInt();
    }

    private static String text(JsonNode root, String name, String dflt) {
        JsonNode n = root.get(name);
        return n == null || n.isNull() ? dflt : n.asText();
    }
}
