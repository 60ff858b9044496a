package io.salsa.model.lm;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * What one forward pass produced; every array lives in the manager of the input ids (the caller's scope).
 *
 * @param logits       next-token logits [B, T, V] (position t predicts token t+1)
 * @param lastHidden   final hidden states after {@code ln_f} [B, T, E]
 * @param values       value-head output [B, T] for a {@link GptModel.Head#VALUE} model (value of the state after
 *                     token t), else null
 * @param hiddenStates Hugging Face's {@code hidden_states} (L+1 arrays [B, T, E]) when asked for, else empty
 */
public record GptOutput(NDArray logits, NDArray lastHidden, NDArray values, List<NDArray> hiddenStates) {
}
