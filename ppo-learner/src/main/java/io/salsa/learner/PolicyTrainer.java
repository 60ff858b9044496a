package io.salsa.learner;

import io.salsa.learner.ppo.PpoStep;
import io.salsa.learner.ppo.TrainingSample;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The model side of the learner as the Kafka glue sees it: train one PPO step, swap the KL reference, and save or
 * restore everything a resumed run needs to continue exactly as an uninterrupted one would.
 */
public interface PolicyTrainer extends AutoCloseable {

    /** One PPO step on exactly {@code batch_size} samples with KL coefficient {@code klCoef}. */
    PpoStep.Result step(List<TrainingSample> batch, double klCoef, long seed);

    /** Loads a reference model folder off the training thread; {@link #swapReference} installs it. */
    PreparedReference prepareReference(Path modelFolder) throws IOException;

    /** Makes {@code reference} the KL reference from the next step on and frees the previous one. */
    void swapReference(PreparedReference reference);

    /** The policy's vocabulary size, so malformed rollouts are refused before they reach the model. */
    int vocabSize();

    /** The policy's context length (n_positions). */
    int maxLength();

    /** Writes the policy (LM + value head) as a model folder: config.json + model.safetensors. */
    void savePolicy(Path folder) throws IOException;

    /** Writes the optimiser state (moments and step counter) as one safetensors file. */
    void saveOptimizer(Path file) throws IOException;

    /** Restores the policy and optimiser saved by {@link #savePolicy} and {@link #saveOptimizer}. */
    void restore(Path policyFolder, Path optimizerFile) throws IOException;

    /** A loaded reference that is not in use yet. */
    interface PreparedReference extends AutoCloseable {
        @Override
        void close();
    }

    @Override
    void close();
}
