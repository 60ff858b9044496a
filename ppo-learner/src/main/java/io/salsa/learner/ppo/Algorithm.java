package io.salsa.learner.ppo;

import java.util.Locale;

/**
 * Which policy-gradient algorithm a step runs ({@code algorithm}), because the critic-free ones replace the value
 * model's baseline with one taken from the other responses to the same prompt.
 */
public enum Algorithm {
    /** PPO with a value head and GAE, KL to the reference in the reward (TRL; the default). */
    PPO,
    /**
     * GRPO: the score normalised within each prompt group, broadcast to the response tokens; no value loss; the KL
     * to the reference is a k3 loss term weighted by the KL coefficient instead of part of the reward.
     */
    GRPO,
    /**
     * RLOO: the score minus the mean score of the other responses to the same prompt, with the per-token KL penalty
     * in the reward as in PPO; advantages are the rewards-to-go; no value loss.
     */
    RLOO;

    /** The setting's spelling: {@code ppo}, {@code grpo} or {@code rloo}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether the step trains the value head (only PPO has a critic). */
    public boolean usesCritic() {
        return this == PPO;
    }

    /** Parses {@code ppo}, {@code grpo} or {@code rloo} (any case). */
    public static Algorithm parse(String raw) {
        for (Algorithm a : values()) {
            if (a.label().equalsIgnoreCase(raw.trim())) {
                return a;
            }
        }
        throw new IllegalArgumentException("algorithm must be ppo, grpo or rloo (got '" + raw + "')");
    }
}
