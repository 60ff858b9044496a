package io.salsa.scorer.rm;

import java.util.Arrays;
import java.util.Objects;

/**
 * One training comparison as token sequences, in the form the reward model reads (see
 * {@link io.salsa.scorer.RewardSequences}).
 *
 * @param group    what the train/held-out split groups by (the prompt), so no prompt is in both sets
 * @param chosen   prompt + preferred response (for a tie: of the two, the one whose token ids sort first)
 * @param rejected prompt + other response
 * @param tie      the rater judged them equal
 */
public record PreferencePair(String group, int[] chosen, int[] rejected, boolean tie) {

    /**
     * A tie has no preferred side: which response a rater saw first is randomised per task, so a tie's two sides
     * are put in token order, and the same tie is the same pair however it was shown (sorted data keeps its order
     * from run to run).
     */
    public PreferencePair {
        Objects.requireNonNull(group, "group");
        if (chosen.length == 0 || rejected.length == 0) {
            throw new IllegalArgumentException("a preference pair needs two non-empty sequences");
        }
        if (tie && Arrays.compare(chosen, rejected) > 0) {
            int[] first = rejected;
            rejected = chosen;
            chosen = first;
        }
    }

    /** Bradley–Terry target of this pair. */
    public float target() {
        return tie ? BradleyTerry.TIE : BradleyTerry.PREFERRED;
    }
}
