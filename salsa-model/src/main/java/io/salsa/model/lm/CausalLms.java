package io.salsa.model.lm;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import io.salsa.model.lm.llama.LlamaModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Loads any supported Hugging Face causal-LM folder, choosing the implementation from {@code config.json}'s
 * {@code model_type} as {@code AutoModelForCausalLM} does, so callers never name an architecture.
 */
public final class CausalLms {

    /** {@code model_type} values GPT-2's implementation runs. */
    public static final List<String> GPT2_TYPES = List.of("gpt2");

    private CausalLms() {
    }

    /** Every {@code model_type} {@link #load} accepts. */
    public static List<String> supportedModelTypes() {
        return java.util.stream.Stream.concat(GPT2_TYPES.stream(), LlamaModel.MODEL_TYPES.stream()).toList();
    }

    /**
     * Loads {@code folder} ({@code config.json} + {@code model.safetensors} or a sharded index) with {@code head}.
     * An unknown {@code model_type} is refused naming the field and the supported values.
     */
    public static CausalLm load(Path folder, GptModel.Head head, Device device) throws IOException {
        String type = modelType(folder);
        if (GPT2_TYPES.contains(type)) {
            return GptModel.load(folder, head, device);
        }
        if (LlamaModel.MODEL_TYPES.contains(type)) {
            return LlamaModel.load(folder, head, device);
        }
        throw new IOException(folder.resolve(ModelFolder.CONFIG) + ": model_type \"" + type
                + "\" is not supported (supported: " + String.join(", ", supportedModelTypes()) + ")");
    }

    /** {@code config.json}'s {@code model_type} of a model folder. */
    public static String modelType(Path folder) throws IOException {
        return ModelFolder.readConfig(folder, root -> {
            JsonNode type = root.get("model_type");
            if (type == null || type.isNull()) {
                return "gpt2"; // as GptConfig reads it: old GPT-2 uploads may not name it
            }
            if (!type.isTextual()) {
                throw new IllegalArgumentException("model_type must be a string (supported: "
                        + String.join(", ", supportedModelTypes()) + "), got " + type);
            }
            return type.asText();
        });
    }
}
