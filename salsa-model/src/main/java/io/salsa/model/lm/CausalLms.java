package io.salsa.model.lm;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.JsonNode;
import io.salsa.model.lm.llama.LlamaModel;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

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

    /**
     * {@link #load} holding the weights in {@code weightType}: float32 (trainable masters) or float16 (an
     * inference-only model; see {@link #loadFrozen}).
     */
    public static CausalLm load(Path folder, GptModel.Head head, Device device, DataType weightType) throws IOException {
        String type = modelType(folder);
        if (GPT2_TYPES.contains(type)) {
            return GptModel.load(folder, head, device, weightType);
        }
        if (LlamaModel.MODEL_TYPES.contains(type)) {
            return LlamaModel.load(folder, head, device, weightType);
        }
        throw new IOException(folder.resolve(ModelFolder.CONFIG) + ": model_type \"" + type
                + "\" is not supported (supported: " + String.join(", ", supportedModelTypes()) + ")");
    }

    /**
     * Loads a frozen (inference-only) model that runs in {@code precision}: the learner's soup reference, the
     * generator's policy copy, the reward scorer. At {@link Precision#FP16} its weights are held in float16 (allocated
     * so and rounded once as each tensor is read, as at every later {@link CausalLm#loadWeights} hot swap), half the
     * bytes of float32 and no cast per forward; the forward is the same fp16 autocast as a float32 model's at
     * {@code setPrecision(FP16)}, bit for bit when that model's float32 weights hold the same float16 values.
     * At {@link Precision#FP32} it is {@link #load} with gradients off. Either way {@code setTrainable(true)} is refused
     * for a float16 model, and so is a float32 forward.
     */
    public static CausalLm loadFrozen(Path folder, GptModel.Head head, Device device, Precision precision)
            throws IOException {
        CausalLm model = load(folder, head, device, precision.weightTypeWhenFrozen());
        try {
            model.setTrainable(false);
            model.setPrecision(precision);
            return model;
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
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

    /**
     * Copies every weight of {@code from} into {@code to} in place (same architecture, same shapes); tensors
     * {@code from} lacks (a head) keep their values. What {@link CausalLm#copyWeightsFrom} does by default.
     */
    public static void copyWeights(CausalLm from, CausalLm to) {
        if (!from.modelType().equals(to.modelType())) {
            throw new IllegalArgumentException("cannot copy weights from a " + from.modelType() + " model into a "
                    + to.modelType() + " model");
        }
        for (Map.Entry<String, Parameter> e : to.parameters().entrySet()) {
            Parameter src = from.parameters().get(e.getKey());
            if (src == null) {
                continue;
            }
            if (!src.getArray().getShape().equals(e.getValue().getArray().getShape())) {
                throw new IllegalArgumentException("cannot copy weights: tensor " + e.getKey() + " is "
                        + src.getArray().getShape() + " in the source and " + e.getValue().getArray().getShape()
                        + " here");
            }
            to.setWeights(e.getKey(), FloatBuffer.wrap(from.weights(e.getKey())));
        }
    }

    /**
     * The parameter {@code name} of {@code model}, checked to hold exactly {@code values} elements: what every
     * in-place weight write validates before it touches the array.
     */
    static Parameter parameterFor(CausalLm model, String name, long values) {
        Parameter p = model.parameters().get(name);
        if (p == null) {
            throw new IllegalArgumentException("unknown tensor " + name + " for a " + model.modelType() + " "
                    + model.head() + " model");
        }
        long expected = p.getArray().size();
        if (values != expected) {
            throw new IllegalArgumentException("tensor " + name + ": " + values + " values for shape "
                    + p.getArray().getShape() + " (" + expected + ")");
        }
        return p;
    }
}
