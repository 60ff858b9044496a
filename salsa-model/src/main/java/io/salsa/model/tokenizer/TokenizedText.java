package io.salsa.model.tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * A text's tokens with their ids and where each came from, for callers that map tokens back to characters.
 *
 * @param ids     token ids
 * @param tokens  token strings as the vocabulary spells them (byte-level BPE shows a space as {@code Ġ})
 * @param offsets per token {@code [start, end)} in Unicode code points of the input, as Hugging Face reports them
 */
public record TokenizedText(int[] ids, List<String> tokens, int[][] offsets) {

    public TokenizedText {
        ids = ids.clone();
        tokens = List.copyOf(tokens);
        offsets = Arrays.stream(offsets).map(int[]::clone).toArray(int[][]::new);
    }

    @Override
    public int[] ids() {
        return ids.clone();
    }

    @Override
    public int[][] offsets() {
        return Arrays.stream(offsets).map(int[]::clone).toArray(int[][]::new);
    }

    /** Number of tokens. */
    public int size() {
        return ids.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenizedText t && Arrays.equals(ids, t.ids) && tokens.equals(t.tokens)
                && Arrays.deepEquals(offsets, t.offsets);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(ids) * 31 + tokens.hashCode();
    }

    @Override
    public String toString() {
        return "TokenizedText" + tokens;
    }
}
