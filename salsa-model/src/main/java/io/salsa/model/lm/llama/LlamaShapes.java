package io.salsa.model.lm.llama;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/**
 * The configs of real hub checkpoints by a short name, so benchmarks can build a model of that exact shape with random
 * weights without downloading it. The JSON is the checkpoint's own {@code config.json} fields (transformers 4.x layout).
 */
public final class LlamaShapes {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Name → the config fields of {@code Qwen/Qwen2.5-0.5B}, {@code Qwen/Qwen2.5-1.5B}, {@code Qwen/Qwen2.5-7B},
     * {@code meta-llama/Llama-3.2-1B} and {@code meta-llama/Llama-2-7b-hf}.
     */
    private static final Map<String, String> CONFIGS = Map.of(
            "qwen2.5-0.5b", """
                    {"model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
                     "num_attention_heads": 14, "num_key_value_heads": 2, "max_position_embeddings": 32768,
                     "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "rope_scaling": null, "sliding_window": 32768,
                     "use_sliding_window": false, "max_window_layers": 24, "tie_word_embeddings": true,
                     "vocab_size": 151936, "bos_token_id": 151643, "eos_token_id": 151643, "hidden_act": "silu",
                     "torch_dtype": "bfloat16"}""",
            "qwen2.5-1.5b", """
                    {"model_type": "qwen2", "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
                     "num_attention_heads": 12, "num_key_value_heads": 2, "max_position_embeddings": 131072,
                     "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "rope_scaling": null, "sliding_window": 131072,
                     "use_sliding_window": false, "max_window_layers": 21, "tie_word_embeddings": true,
                     "vocab_size": 151936, "bos_token_id": 151643, "eos_token_id": 151643, "hidden_act": "silu",
                     "torch_dtype": "bfloat16"}""",
            "qwen2.5-7b", """
                    {"model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
                     "num_attention_heads": 28, "num_key_value_heads": 4, "max_position_embeddings": 131072,
                     "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "rope_scaling": null, "sliding_window": 131072,
                     "use_sliding_window": false, "max_window_layers": 28, "tie_word_embeddings": false,
                     "vocab_size": 152064, "bos_token_id": 151643, "eos_token_id": 151643, "hidden_act": "silu",
                     "torch_dtype": "bfloat16"}""",
            "llama-2-7b", """
                    {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
                     "num_attention_heads": 32, "num_key_value_heads": 32, "max_position_embeddings": 4096,
                     "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "rope_scaling": null, "tie_word_embeddings": false,
                     "vocab_size": 32000, "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
                     "torch_dtype": "float16"}""",
            "llama-3.2-1b", """
                    {"model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
                     "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64,
                     "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
                     "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                      "original_max_position_embeddings": 8192, "rope_type": "llama3"},
                     "attention_bias": false, "mlp_bias": false, "tie_word_embeddings": true, "vocab_size": 128256,
                     "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
                     "torch_dtype": "bfloat16"}""");

    /** The known names, sorted. */
    public static final List<String> NAMES = CONFIGS.keySet().stream().sorted().toList();

    private LlamaShapes() {
    }

    /** Whether {@code name} is a known shape. */
    public static boolean known(String name) {
        return CONFIGS.containsKey(name);
    }

    /** The hub {@code config.json} fields of a named shape; refused naming the known ones. */
    public static ObjectNode json(String name) {
        String text = CONFIGS.get(name);
        if (text == null) {
            throw new IllegalArgumentException("unknown model shape \"" + name + "\" (known: " + String.join(", ", NAMES) + ")");
        }
        try {
            return (ObjectNode) JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The parsed config of a named shape. */
    public static LlamaConfig config(String name) {
        return LlamaConfig.fromJson(json(name));
    }
}
