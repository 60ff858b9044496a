package io.salsa.scorer.rm;

import java.util.Objects;

/**
 * One training comparison as token sequences, in the form the reward model reads (see
 * {@link io.salsa.scorer.RewardSequences}).
 *
 * @param group    what the train/held-out split groups by (the prompt), so no prompt is in both sets
 * @param chosen   prompt + preferred response (for a tie: the first response)
 * @param rejected prompt + other response
 * @param tie      the rater judged them equal
 */
public record PreferencePair(String group, int[] chosen, int[] rejected, boolean tie) {

    public PreferencePair {
        Objects.requireNonNull(group, "group");
        if (chosen.length == 0 || rejected.length == 0) {
            throw new IllegalArgumentException("a preference pair needs two non-empty sequences");
        }
    }

    /** Bradley–Terry target of this pair. */
    public float target() {
        return tie ? BradleyTerry.TIE : BradleyTerry.PREFERRED;
    }
}
