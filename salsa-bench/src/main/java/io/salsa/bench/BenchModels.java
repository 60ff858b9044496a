package io.salsa.bench;

import ai.djl.Device;
import io.salsa.model.doctor.Doctor;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.llama.LlamaModel;
import io.salsa.model.lm.llama.LlamaShapes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code --model} of the model benches: a Hugging Face model folder of any family, or a named shape built with
 * random weights into a scratch folder, so every bench loads its models the way the services do (from a folder).
 */
final class BenchModels {

    /** GPT-2 shapes by name: the golden {@code small} config and GPT-2 124M. */
    static final List<String> GPT2_NAMES = List.of("small", "gpt2-124m");

    private BenchModels() {
    }

    /** Every name {@code --model} accepts besides a folder. */
    static List<String> names() {
        List<String> all = new ArrayList<>(GPT2_NAMES);
        all.add(Doctor.SMALL);
        all.addAll(LlamaShapes.NAMES);
        return all;
    }

    /** Whether {@code model} is a named shape (not a folder). */
    static boolean named(String model) {
        return GPT2_NAMES.contains(model) || Doctor.SMALL.equals(model) || LlamaShapes.known(model);
    }

    /**
     * The Llama-family config of a named shape: {@code salsa doctor}'s {@value Doctor#SMALL} (27 M parameters) or
     * a hub shape of {@link LlamaShapes}.
     */
    private static LlamaConfig llama(String name) {
        return Doctor.SMALL.equals(name) ? Doctor.small() : LlamaShapes.config(name);
    }

    /** The GPT-2 config of a GPT-2 shape name. */
    static GptConfig gpt2(String name) {
        return switch (name) {
            case "small" -> GptConfig.of(4, 4, 128, 1000, 128, 0, 1);
            case "gpt2-124m" -> GptConfig.of(12, 12, 768, 50257, 1024, 50256, 50256);
            default -> throw new IllegalArgumentException("not a GPT-2 shape: " + name);
        };
    }

    /** What a bench prints and sizes its inputs by, read from a config without building the model. */
    record Shape(String modelType, int layers, int hidden, int vocab, int positions) {
    }

    /** The shape of a named shape or a model folder of any family; anything else is refused naming the choices. */
    static Shape shape(String model) throws IOException {
        if (GPT2_NAMES.contains(model)) {
            return shape(gpt2(model));
        }
        if (Doctor.SMALL.equals(model) || LlamaShapes.known(model)) {
            return shape(llama(model));
        }
        Path dir = existing(model);
        return CausalLms.GPT2_TYPES.contains(CausalLms.modelType(dir)) ? shape(GptConfig.load(dir))
                : shape(LlamaConfig.load(dir));
    }

    private static Shape shape(GptConfig c) {
        return new Shape("gpt2", c.nLayer(), c.nEmbd(), c.vocabSize(), c.nPositions());
    }

    private static Shape shape(LlamaConfig c) {
        return new Shape(c.modelType(), c.numLayers(), c.hiddenSize(), c.vocabSize(), c.maxPositions());
    }

    private static Path existing(String model) {
        Path dir = Path.of(model);
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--model " + model + " is neither a model folder nor a named shape ("
                    + String.join(", ", names()) + ")");
        }
        return dir;
    }

    /**
     * The model folder {@code --model} names: an existing folder as is, a named shape saved with random weights
     * (seed 1, float32) under {@code scratch}; anything else is refused naming the choices.
     */
    static Path folder(String model, Path scratch) throws IOException {
        if (named(model)) {
            Path dir = scratch.resolve("model-" + model);
            if (GPT2_NAMES.contains(model)) {
                try (GptModel m = GptModel.random(gpt2(model), GptModel.Head.NONE, 1, Device.cpu())) {
                    m.save(dir);
                }
            } else {
                try (LlamaModel m = LlamaModel.random(llama(model), GptModel.Head.NONE, 1, Device.cpu())) {
                    m.save(dir);
                }
            }
            return dir;
        }
        return existing(model);
    }
}
