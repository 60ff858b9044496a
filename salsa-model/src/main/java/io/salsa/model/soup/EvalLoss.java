package io.salsa.model.soup;

import ai.djl.Device;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.train.SftData;
import io.salsa.model.train.SftTrainer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Evaluation loss of a model folder, so the greedy soup here needs no knowledge of the network that reads the
 * weights; {@link #responseNll} is the usual one, for any supported architecture.
 */
@FunctionalInterface
public interface EvalLoss {

    /** Loss of the model in {@code modelDir} on held-out data; lower is better. */
    double evaluate(Path modelDir) throws IOException;

    /**
     * The token-weighted response NLL of SFT ({@link SftTrainer#evalLoss}) on {@code sequences}, the folder loaded
     * through {@link CausalLms#load} (GPT-2 or the Llama family, single or sharded, bf16 widened) on {@code device}.
     */
    static EvalLoss responseNll(List<SftData.Sequence> sequences, int batchSize, Device device) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("an eval loss needs at least one sequence");
        }
        return dir -> {
            try (CausalLm model = CausalLms.load(dir, GptModel.Head.NONE, device)) {
                return SftTrainer.evalLoss(model, sequences, batchSize);
            }
        };
    }
}
