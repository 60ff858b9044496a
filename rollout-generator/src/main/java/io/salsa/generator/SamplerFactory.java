package io.salsa.generator;

import java.io.IOException;
import java.nio.file.Path;

/** Opens a model folder as a {@link RolloutSampler}; the seam between the generator and the model library. */
@FunctionalInterface
public interface SamplerFactory {

    /** Loads {@code modelDir} (config.json, model.safetensors, optional tokenizer.json) on {@code device}. */
    RolloutSampler open(Path modelDir, GeneratorConfig.Device device) throws IOException;

    /**
     * Loads the base model {@code baseDir} with the LoRA adapter of the policy folder {@code adapterDir} (PEFT files
     * and the run's tokenizer), refusing an adapter trained on another base. Factories without LoRA support refuse.
     */
    default RolloutSampler openAdapter(Path baseDir, Path adapterDir, GeneratorConfig.Device device)
            throws IOException {
        throw new IOException(adapterDir + " is a LoRA adapter checkpoint; this sampler factory loads full model "
                + "folders only");
    }
}
