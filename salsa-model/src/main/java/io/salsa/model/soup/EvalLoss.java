package io.salsa.model.soup;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Evaluation loss of a model folder, supplied by whoever owns the model code, so the greedy soup here needs no
 * knowledge of the network that reads the weights.
 */
@FunctionalInterface
public interface EvalLoss {

    /** Loss of the model in {@code modelDir} on held-out data; lower is better. */
    double evaluate(Path modelDir) throws IOException;
}
