package io.salsa.model.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.salsa.model.train.LmLoss;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The batch every golden model folder holds and what Hugging Face computed on it, read the same way for every
 * family's golden test.
 */
public record GoldenBatch(Npy ids, Npy mask, Npy positions, Npy hidden, Npy tokenLogProbs, Npy tokenMask) {

    /** The batch of the golden folder {@code dir} ({@code input_ids.npy}, {@code attention_mask.npy}, …). */
    public static GoldenBatch read(Path dir) throws IOException {
        return new GoldenBatch(Npy.read(dir.resolve("input_ids.npy")), Npy.read(dir.resolve("attention_mask.npy")),
                Npy.read(dir.resolve("position_ids.npy")), Npy.read(dir.resolve("hidden_states.npy")),
                Npy.read(dir.resolve("token_logprobs.npy")), Npy.read(dir.resolve("token_mask.npy")));
    }

    /** Our next-token log-probs [B, T−1] equal the reference's on every position the token mask counts. */
    public void assertTokenLogProbs(String what, float[] ours) {
        for (int i = 0; i < ours.length; i++) {
            if (tokenMask.floats()[i] == 1f) {
                assertEquals(tokenLogProbs.floats()[i], ours[i], GoldenAsserts.TOL, what + " token log-prob " + i);
            }
        }
    }

    /**
     * The mean next-token cross-entropy of {@code model} on this batch over the token mask, as the golden set's
     * {@code loss_mean_next_token_ce}, with its gradients written to the model's parameters.
     */
    public float backwardMeanLoss(CausalLm model, NDManager scope) {
        NDArray idArr = scope.create(ids.longRows());
        NDArray maskArr = scope.create(mask.longRows());
        NDArray tm = scope.create(tokenMask.floats(), new Shape(tokenMask.shape()));
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray loss = LmLoss.maskedMean(model.tokenLogProbs(idArr, maskArr).neg(), tm);
            gc.backward(loss);
            return loss.getFloat();
        }
    }
}
