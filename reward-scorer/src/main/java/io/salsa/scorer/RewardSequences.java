package io.salsa.scorer;

import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import java.util.Arrays;
import java.util.List;

/**
 * The one rule for turning (prompt, response) into the token sequence the reward model reads, shared by the
 * scorer and the trainer so a model is scored on exactly what it was trained on: prompt ids followed by
 * response ids, cut from the left to the model's context length (the end of the response decides the score).
 */
public final class RewardSequences {

    private RewardSequences() {
    }

    /** {@code prompt ++ response}, keeping only the last {@code maxLength} tokens. */
    public static int[] join(List<Integer> prompt, List<Integer> response, int maxLength) {
        int total = prompt.size() + response.size();
        int skip = Math.max(0, total - maxLength);
        int[] out = new int[total - skip];
        int j = 0;
        for (int i = skip; i < prompt.size(); i++) {
            out[j++] = prompt.get(i);
        }
        for (int i = Math.max(0, skip - prompt.size()); i < response.size(); i++) {
            out[j++] = response.get(i);
        }
        return out;
    }

    /** {@code prompt ++ response}, keeping only the last {@code maxLength} tokens. */
    public static int[] join(int[] prompt, int[] response, int maxLength) {
        int total = prompt.length + response.length;
        int[] all = Arrays.copyOf(prompt, total);
        System.arraycopy(response, 0, all, prompt.length, response.length);
        return total <= maxLength ? all : Arrays.copyOfRange(all, total - maxLength, total);
    }

    /** The last {@code maxLength} tokens of {@code sequence} (all of it when it fits). */
    public static int[] tail(int[] sequence, int maxLength) {
        return sequence.length <= maxLength ? sequence
                : Arrays.copyOfRange(sequence, sequence.length - maxLength, sequence.length);
    }

    /**
     * A padded batch: {@code ids[i]} is {@code sequences[i]} with {@code padId} after it (right padding) or before it
     * (left padding), {@code mask[i]} is 1 over the real tokens; rows are as long as the longest sequence.
     */
    public record Batch(long[][] ids, long[][] mask) {
    }

    /**
     * The batch a reward model of {@code model}'s architecture reads right: GPT-2 right-padded with its pad id (its
     * score is taken at the last real token through the mask); Llama-family models left-padded with
     * {@link CausalLm#padTokenId}, because Hugging Face's rule (the rightmost non-pad id, or the last index when the
     * config has no {@code pad_token_id}) then lands on every row's last real token.
     */
    public static Batch pad(List<int[]> sequences, CausalLm model) {
        boolean gpt2 = CausalLms.GPT2_TYPES.contains(model.modelType());
        return pad(sequences, model.padTokenId(), !gpt2);
    }

    /** A right-padded batch (see {@link Batch}). */
    public static Batch pad(List<int[]> sequences, int padId) {
        return pad(sequences, padId, false);
    }

    /** A left-padded batch: each row ends with its sequence, {@code padId} (mask 0) before it. */
    public static Batch padLeft(List<int[]> sequences, int padId) {
        return pad(sequences, padId, true);
    }

    private static Batch pad(List<int[]> sequences, int padId, boolean left) {
        int width = 1;
        for (int[] s : sequences) {
            width = Math.max(width, s.length);
        }
        long[][] ids = new long[sequences.size()][width];
        long[][] mask = new long[sequences.size()][width];
        for (int i = 0; i < sequences.size(); i++) {
            int[] s = sequences.get(i);
            int offset = left ? width - s.length : 0;
            Arrays.fill(ids[i], padId);
            for (int t = 0; t < s.length; t++) {
                ids[i][offset + t] = s[t];
                mask[i][offset + t] = 1;
            }
        }
        return new Batch(ids, mask);
    }
}
