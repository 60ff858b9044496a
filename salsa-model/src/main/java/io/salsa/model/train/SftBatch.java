package io.salsa.model.train;

import java.util.Arrays;
import java.util.List;

/**
 * A right-padded batch of SFT sequences as host arrays: ids, attention mask, and which next-token
 * predictions are trained (response tokens and EOS only; for a conversation, its assistant turns).
 *
 * @param ids      [B, T] token ids, padded with the pad id
 * @param mask     [B, T] 1 for real tokens
 * @param lossMask [B, T−1] 1 where token t+1 is a response token
 * @param tokens   real tokens in the batch (for tokens/s)
 */
public record SftBatch(long[][] ids, long[][] mask, float[][] lossMask, long tokens) {

    /** Pads {@code sequences} to the longest one. */
    public static SftBatch of(List<SftData.Sequence> sequences, int padId) {
        int b = sequences.size();
        int t = sequences.stream().mapToInt(s -> s.ids().length).max().orElseThrow();
        if (t < 2) {
            throw new IllegalArgumentException("SFT sequences need at least 2 tokens");
        }
        long[][] ids = new long[b][t];
        long[][] mask = new long[b][t];
        float[][] loss = new float[b][t - 1];
        long tokens = 0;
        for (int i = 0; i < b; i++) {
            SftData.Sequence s = sequences.get(i);
            Arrays.fill(ids[i], padId);
            for (int j = 0; j < s.ids().length; j++) {
                ids[i][j] = s.ids()[j];
                mask[i][j] = 1;
            }
            for (int j = Math.max(0, s.promptLength() - 1); j < s.ids().length - 1; j++) {
                loss[i][j] = s.isTrained(j + 1) ? 1f : 0f;
            }
            tokens += s.ids().length;
        }
        return new SftBatch(ids, mask, loss, tokens);
    }
}
