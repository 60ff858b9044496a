package io.salsa.model.lm.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.lm.ModelFolder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The shape and arithmetic of a Llama-family decoder ({@code llama}, {@code mistral}, {@code qwen2}, {@code gemma})
 * as its {@code config.json} states it, in either layout in circulation (transformers 4.x: top-level
 * {@code rope_theta}, {@code rope_scaling}, {@code torch_dtype}; 5.x: {@code rope_parameters}, {@code dtype}),
 * validated once so a model is never built from a field we would silently misread.
 *
 * @param modelType         {@code model_type}
 * @param vocabSize         {@code vocab_size}
 * @param hiddenSize        {@code hidden_size}
 * @param intermediateSize  {@code intermediate_size} (MLP width)
 * @param numLayers         {@code num_hidden_layers}
 * @param numHeads          {@code num_attention_heads}
 * @param numKvHeads        {@code num_key_value_heads} (divides {@code numHeads}; query head h uses kv head h / (nH/nKV))
 * @param headDim           {@code head_dim} (default hidden / heads; even, for RoPE)
 * @param maxPositions      {@code max_position_embeddings}
 * @param rmsNormEps        {@code rms_norm_eps}
 * @param ropeTheta         RoPE base ({@code rope_theta})
 * @param ropeScaling       {@code linear} or {@code llama3} frequency scaling, or null
 * @param hiddenAct         {@code hidden_act} as written ({@code silu}; Gemma: a tanh GELU name)
 * @param qkvBias           bias on q/k/v projections (Qwen2; {@code attention_bias})
 * @param outputBias        bias on o_proj ({@code attention_bias} of Llama and Gemma; never Qwen2)
 * @param mlpBias           bias on the MLP projections ({@code mlp_bias}, Llama)
 * @param tieWordEmbeddings LM head = embedding matrix ({@code tie_word_embeddings}, family default when absent)
 * @param layerWindows      per layer, the sliding-window size (0 = full attention)
 * @param bosTokenId        {@code bos_token_id}, −1 when absent
 * @param eosTokenIds       {@code eos_token_id} (an int or a list); generation stops on the first
 * @param padTokenId        {@code pad_token_id}, −1 when absent
 * @param dtype             {@code dtype} / {@code torch_dtype} of the stored weights (float32, bfloat16, float16)
 */
public record LlamaConfig(
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int maxPositions,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        String hiddenAct,
        boolean qkvBias,
        boolean outputBias,
        boolean mlpBias,
        boolean tieWordEmbeddings,
        List<Integer> layerWindows,
        int bosTokenId,
        List<Integer> eosTokenIds,
        int padTokenId,
        String dtype) {

    /** The families this decoder runs. */
    public static final List<String> MODEL_TYPES = List.of("llama", "mistral", "qwen2", "gemma");
    /** Activations of the gated MLP: SiLU (SwiGLU) everywhere, a tanh GELU (GeGLU) in Gemma. */
    static final Set<String> GELU_TANH = Set.of("gelu", "gelu_pytorch_tanh", "gelu_new");
    static final List<String> DTYPES = List.of("float32", "bfloat16", "float16");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * RoPE frequency scaling.
     *
     * @param type                 {@code linear} (inv_freq / factor) or {@code llama3} (Llama-3.1's band-wise rule)
     * @param factor               {@code factor}
     * @param lowFreqFactor        {@code low_freq_factor} (llama3)
     * @param highFreqFactor       {@code high_freq_factor} (llama3)
     * @param originalMaxPositions {@code original_max_position_embeddings} (llama3)
     */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositions) {
        /** Supported {@code rope_type} values besides {@code default}. */
        public static final List<String> TYPES = List.of("linear", "llama3");
    }

    public LlamaConfig {
        if (!MODEL_TYPES.contains(modelType)) {
            throw new IllegalArgumentException("model_type \"" + modelType + "\" is not supported (supported: "
                    + String.join(", ", MODEL_TYPES) + ")");
        }
        requireRange("vocab_size", vocabSize, 1, 1 << 24);
        requireRange("hidden_size", hiddenSize, 1, 1 << 17);
        requireRange("intermediate_size", intermediateSize, 1, 1 << 20);
        requireRange("num_hidden_layers", numLayers, 1, 1024);
        requireRange("num_attention_heads", numHeads, 1, 1024);
        requireRange("num_key_value_heads", numKvHeads, 1, numHeads);
        if (numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("num_key_value_heads must divide num_attention_heads, got "
                    + numKvHeads + " and " + numHeads);
        }
        requireRange("head_dim", headDim, 2, 1 << 12);
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("head_dim must be even (RoPE rotates pairs), got " + headDim);
        }
        requireRange("max_position_embeddings", maxPositions, 1, 1 << 24);
        if (!(rmsNormEps > 0 && rmsNormEps <= 0.1)) {
            throw new IllegalArgumentException("rms_norm_eps must be in (0, 0.1], got " + rmsNormEps);
        }
        if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta)) {
            throw new IllegalArgumentException("rope_theta must be positive, got " + ropeTheta);
        }
        boolean gemma = "gemma".equals(modelType);
        if (gemma ? !GELU_TANH.contains(hiddenAct) : !"silu".equals(hiddenAct)) {
            throw new IllegalArgumentException("hidden_act \"" + hiddenAct + "\" is not supported for " + modelType
                    + " (supported: " + (gemma ? String.join(", ", new java.util.TreeSet<>(GELU_TANH)) : "silu") + ")");
        }
        layerWindows = List.copyOf(layerWindows);
        if (layerWindows.size() != numLayers) {
            throw new IllegalArgumentException("layer_types lists " + layerWindows.size() + " layers, num_hidden_layers is " + numLayers);
        }
        for (int w : layerWindows) {
            requireRange("sliding_window", w, 0, Integer.MAX_VALUE);
        }
        eosTokenIds = List.copyOf(eosTokenIds);
        if (eosTokenIds.isEmpty()) {
            throw new IllegalArgumentException("eos_token_id is missing");
        }
        for (int id : eosTokenIds) {
            requireRange("eos_token_id", id, 0, vocabSize - 1);
        }
        requireRange("bos_token_id", bosTokenId, -1, vocabSize - 1);
        requireRange("pad_token_id", padTokenId, -1, vocabSize - 1);
        if (!DTYPES.contains(dtype)) {
            throw new IllegalArgumentException("dtype \"" + dtype + "\" is not supported (supported: " + String.join(", ", DTYPES) + ")");
        }
    }

    /** This config with another stored dtype (what a save in float32 changes). */
    public LlamaConfig withDtype(String newDtype) {
        return new LlamaConfig(modelType, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                maxPositions, rmsNormEps, ropeTheta, ropeScaling, hiddenAct, qkvBias, outputBias, mlpBias, tieWordEmbeddings,
                layerWindows, bosTokenId, eosTokenIds, padTokenId, newDtype);
    }

    /** Whether this is Gemma: RMSNorm × (1 + w), embeddings × √hidden, GeGLU. */
    public boolean gemma() {
        return "gemma".equals(modelType);
    }

    /** Query heads per kv head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /** Generation stops on this id. */
    public int eosTokenId() {
        return eosTokenIds.get(0);
    }

    /** The padding id, or the EOS id when the config has none (as Hugging Face's generate does). */
    public int padOrEos() {
        return padTokenId >= 0 ? padTokenId : eosTokenId();
    }

    /** Reads {@code config.json} from a model folder or a direct path to the file. */
    public static LlamaConfig load(Path path) throws IOException {
        return ModelFolder.readConfig(path, LlamaConfig::fromJson);
    }

    /** Builds a config from a Hugging Face {@code config.json} object (4.x or 5.x layout), refusing what we cannot run. */
    public static LlamaConfig fromJson(JsonNode root) {
        String type = text(root, "model_type", null);
        if (type == null || !MODEL_TYPES.contains(type)) {
            throw new IllegalArgumentException("model_type " + (type == null ? "is missing" : "\"" + type + "\" is not supported")
                    + " (supported: " + String.join(", ", MODEL_TYPES) + ")");
        }
        boolean gemma = type.equals("gemma");
        if (has(root, "quantization_config")) {
            throw new IllegalArgumentException("quantization_config is not supported (only unquantised float weights)");
        }
        double partial = root.has("partial_rotary_factor") && !root.get("partial_rotary_factor").isNull()
                ? root.get("partial_rotary_factor").asDouble() : 1.0;
        if (partial != 1.0) {
            throw new IllegalArgumentException("partial_rotary_factor=" + partial + " is not supported (only 1.0)");
        }
        int hidden = integer(root, "hidden_size", -1);
        int heads = integer(root, "num_attention_heads", -1);
        requireRange("hidden_size", hidden, 1, 1 << 17);
        requireRange("num_attention_heads", heads, 1, 1024);
        int layers = integer(root, "num_hidden_layers", -1);
        requireRange("num_hidden_layers", layers, 1, 1024);

        // RoPE: 5.x rope_parameters {rope_theta, rope_type, ...}; 4.x rope_theta + rope_scaling {rope_type|type, ...}
        JsonNode rp = root.get("rope_parameters");
        boolean v5 = rp != null && rp.isObject() && rp.size() > 0;
        String scalingField = v5 ? "rope_parameters" : "rope_scaling";
        double theta = v5 && has(rp, "rope_theta") ? rp.get("rope_theta").asDouble()
                : has(root, "rope_theta") ? root.get("rope_theta").asDouble() : 10000.0;
        JsonNode scaling = v5 ? rp : root.get("rope_scaling");
        RopeScaling ropeScaling = null;
        if (scaling != null && !scaling.isNull()) {
            if (!scaling.isObject()) {
                throw new IllegalArgumentException(scalingField + " must be an object or null, got " + scaling);
            }
            String ropeType = text(scaling, "rope_type", text(scaling, "type", "default"));
            if (!ropeType.equals("default")) {
                if (!RopeScaling.TYPES.contains(ropeType)) {
                    throw new IllegalArgumentException(scalingField + ".rope_type \"" + ropeType
                            + "\" is not supported (supported: default, " + String.join(", ", RopeScaling.TYPES) + ")");
                }
                double factor = number(scaling, scalingField, "factor");
                if (!(factor > 0)) {
                    throw new IllegalArgumentException(scalingField + ".factor must be positive, got " + factor);
                }
                if (ropeType.equals("llama3")) {
                    double lo = number(scaling, scalingField, "low_freq_factor");
                    double hi = number(scaling, scalingField, "high_freq_factor");
                    if (!(lo > 0 && hi > lo)) {
                        throw new IllegalArgumentException(scalingField + ": need 0 < low_freq_factor < high_freq_factor, got "
                                + lo + " and " + hi);
                    }
                    int orig = integer(scaling, "original_max_position_embeddings", integer(root, "max_position_embeddings", -1));
                    requireRange(scalingField + ".original_max_position_embeddings", orig, 1, 1 << 24);
                    ropeScaling = new RopeScaling(ropeType, factor, lo, hi, orig);
                } else {
                    ropeScaling = new RopeScaling(ropeType, factor, 0, 0, 0);
                }
            }
        }

        boolean attentionBias = flag(root, "attention_bias", false);
        boolean qkvBias;
        boolean outputBias;
        boolean mlpBias = false;
        switch (type) {
            case "qwen2" -> {
                qkvBias = true;
                outputBias = false;
            }
            case "mistral" -> {
                if (attentionBias) {
                    throw new IllegalArgumentException("attention_bias=true is not supported for mistral (only false)");
                }
                qkvBias = false;
                outputBias = false;
            }
            default -> {
                qkvBias = attentionBias;
                outputBias = attentionBias;
                mlpBias = type.equals("llama") && flag(root, "mlp_bias", false);
            }
        }

        List<Integer> windows = new ArrayList<>();
        Integer window = has(root, "sliding_window") ? integer(root, "sliding_window", 0) : null;
        if (type.equals("qwen2") && flag(root, "use_sliding_window", false)) {
            throw new IllegalArgumentException("use_sliding_window=true is not supported for qwen2 (only false)");
        }
        JsonNode layerTypes = root.get("layer_types");
        for (int i = 0; i < layers; i++) {
            int w = 0;
            if (type.equals("mistral") && window != null) {
                w = window;
                if (layerTypes != null && layerTypes.isArray() && i < layerTypes.size()
                        && "full_attention".equals(layerTypes.get(i).asText())) {
                    w = 0;
                }
            } else if (layerTypes != null && layerTypes.isArray() && i < layerTypes.size()) {
                String lt = layerTypes.get(i).asText();
                if (!lt.equals("full_attention")) {
                    throw new IllegalArgumentException("layer_types[" + i + "] \"" + lt + "\" is not supported for "
                            + type + " (supported: full_attention)");
                }
            }
            windows.add(w);
        }

        String act = gemma ? text(root, "hidden_activation", text(root, "hidden_act", "gelu_pytorch_tanh"))
                : text(root, "hidden_act", "silu");
        String dtype = text(root, "dtype", text(root, "torch_dtype", "float32"));
        return new LlamaConfig(
                type,
                integer(root, "vocab_size", -1),
                hidden,
                integer(root, "intermediate_size", -1),
                layers,
                heads,
                integer(root, "num_key_value_heads", heads),
                integer(root, "head_dim", hidden / heads),
                integer(root, "max_position_embeddings", -1),
                has(root, "rms_norm_eps") ? root.get("rms_norm_eps").asDouble() : 1e-6,
                theta,
                ropeScaling,
                act,
                qkvBias,
                outputBias,
                mlpBias,
                flag(root, "tie_word_embeddings", gemma),
                windows,
                integer(root, "bos_token_id", -1),
                ids(root, "eos_token_id"),
                integer(root, "pad_token_id", -1),
                dtype);
    }

    /** The config as transformers 5 writes it ({@code rope_parameters}, {@code dtype}); {@code score}: a reward model. */
    public ObjectNode toJson(boolean sequenceClassification) {
        ObjectNode o = JSON.createObjectNode();
        String arch = switch (modelType) {
            case "llama" -> "Llama";
            case "mistral" -> "Mistral";
            case "qwen2" -> "Qwen2";
            default -> "Gemma";
        };
        o.putArray("architectures").add(arch + (sequenceClassification ? "ForSequenceClassification" : "ForCausalLM"));
        if (!modelType.equals("qwen2") && !modelType.equals("mistral")) {
            o.put("attention_bias", qkvBias);
        }
        o.put("attention_dropout", 0.0);
        if (bosTokenId >= 0) {
            o.put("bos_token_id", bosTokenId);
        }
        o.put("dtype", "float32");
        if (eosTokenIds.size() == 1) {
            o.put("eos_token_id", eosTokenIds.get(0));
        } else {
            ArrayNode eos = o.putArray("eos_token_id");
            eosTokenIds.forEach(eos::add);
        }
        o.put("head_dim", headDim);
        o.put("hidden_act", hiddenAct);
        o.put("hidden_size", hiddenSize);
        if (sequenceClassification) {
            o.putObject("id2label").put("0", "LABEL_0");
            o.putObject("label2id").put("LABEL_0", 0);
        }
        o.put("intermediate_size", intermediateSize);
        boolean mixedWindows = layerWindows.stream().distinct().count() > 1;
        if (mixedWindows) {
            ArrayNode lt = o.putArray("layer_types");
            layerWindows.forEach(w -> lt.add(w > 0 ? "sliding_attention" : "full_attention"));
        }
        o.put("max_position_embeddings", maxPositions);
        if (modelType.equals("llama")) {
            o.put("mlp_bias", mlpBias);
        }
        o.put("model_type", modelType);
        o.put("num_attention_heads", numHeads);
        o.put("num_hidden_layers", numLayers);
        o.put("num_key_value_heads", numKvHeads);
        if (padTokenId >= 0) {
            o.put("pad_token_id", padTokenId);
        }
        o.put("rms_norm_eps", rmsNormEps);
        ObjectNode rope = o.putObject("rope_parameters");
        rope.put("rope_theta", ropeTheta);
        if (ropeScaling == null) {
            rope.put("rope_type", "default");
        } else {
            rope.put("rope_type", ropeScaling.type());
            rope.put("factor", ropeScaling.factor());
            if (ropeScaling.type().equals("llama3")) {
                rope.put("low_freq_factor", ropeScaling.lowFreqFactor());
                rope.put("high_freq_factor", ropeScaling.highFreqFactor());
                rope.put("original_max_position_embeddings", ropeScaling.originalMaxPositions());
            }
        }
        int window = layerWindows.stream().mapToInt(Integer::intValue).max().orElse(0);
        if (modelType.equals("mistral") || modelType.equals("qwen2")) {
            if (window > 0) {
                o.put("sliding_window", window);
            } else {
                o.putNull("sliding_window");
            }
        }
        o.put("tie_word_embeddings", tieWordEmbeddings);
        o.put("use_cache", true);
        if (modelType.equals("qwen2")) {
            o.put("use_sliding_window", false);
        }
        o.put("vocab_size", vocabSize);
        return o;
    }

    /** Writes {@code config.json} into {@code dir} in the transformers 5 layout. */
    public void save(Path dir, boolean sequenceClassification) throws IOException {
        Files.createDirectories(dir);
        JSON.writeValue(dir.resolve("config.json").toFile(), toJson(sequenceClassification));
    }

    private static boolean has(JsonNode root, String name) {
        return root.has(name) && !root.get(name).isNull();
    }

    private static void requireRange(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + (value == -1 && min > -1 ? " is missing" : " must be in [" + min + ", " + max + "], got " + value));
        }
    }

    private static boolean flag(JsonNode root, String name, boolean dflt) {
        JsonNode n = root.get(name);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException(name + " must be true or false, got " + n);
        }
        return n.asBoolean();
    }

    private static double number(JsonNode root, String where, String name) {
        JsonNode n = root.get(name);
        if (n == null || !n.isNumber()) {
            throw new IllegalArgumentException(where + "." + name + " must be a number, got " + n);
        }
        return n.asDouble();
    }

    private static int integer(JsonNode root, String name, int dflt) {
        JsonNode n = root.get(name);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.canConvertToInt() || (!n.isIntegralNumber() && n.asDouble() != n.asInt())) {
            throw new IllegalArgumentException(name + " must be an integer, got " + n);
        }
        return n.asInt();
    }

    private static List<Integer> ids(JsonNode root, String name) {
        JsonNode n = root.get(name);
        List<Integer> out = new ArrayList<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (n.isArray()) {
            for (JsonNode e : n) {
                if (!e.canConvertToInt() || !e.isIntegralNumber()) {
                    throw new IllegalArgumentException(name + " must be an integer or a list of integers, got " + n);
                }
                out.add(e.asInt());
            }
        } else {
            out.add(integer(root, name, -1));
        }
        return out;
    }

    private static String text(JsonNode root, String name, String dflt) {
        JsonNode n = root.get(name);
        return n == null || n.isNull() ? dflt : n.asText();
    }
}
