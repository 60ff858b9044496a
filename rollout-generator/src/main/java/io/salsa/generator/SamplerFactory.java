package io.salsa.generator;

import java.io.IOException;
import java.nio.file.Path;

/** Opens a model folder as a {@link RolloutSampler}; the seam between the generator and the model library. */
@FunctionalInterface
public interface SamplerFactory {

    /** Loads {@code modelDir} (config.json, model.safetensors, optional tokenizer.json) on {@code device}. */
    RolloutSampler open(Path modelDir, GeneratorConfig.Device device) throws IOException;
}
