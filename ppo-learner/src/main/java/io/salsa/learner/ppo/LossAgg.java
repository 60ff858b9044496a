package io.salsa.learner.ppo;

import java.util.Locale;

/**
 * How the per-token policy losses become one number ({@code loss_agg}, OpenRLHF's names), because averaging over
 * all tokens weights long responses more than averaging each response first.
 */
public enum LossAgg {
    /** Mean over every real token of the mini-batch (TRL's and today's default). */
    TOKEN_MEAN,
    /** Mean over each sequence's real tokens, then over the sequences that have any. */
    SEQ_MEAN;

    /** The setting's spelling: {@code token_mean} or {@code seq_mean}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code token_mean} or {@code seq_mean} (any case). */
    public static LossAgg parse(String raw) {
        for (LossAgg a : values()) {
            if (a.label().equalsIgnoreCase(raw.trim())) {
                return a;
            }
        }
        throw new IllegalArgumentException("loss_agg must be token_mean or seq_mean (got '" + raw + "')");
    }
}
