package io.salsa.cli.experiment;

import java.util.Objects;

/**
 * How one arm's final policy did on one held-out prompt: the unit the experiment's tables and tests are built from.
 *
 * @param promptId       the prompt, shared across arms so outcomes pair up
 * @param gold           the simulated rater's gold reward of the response (the judge the proxy reward model imitates)
 * @param rewardScore    the reward model's score of the response (the proxy PPO optimised)
 * @param klToReference  sequence KL of the response under the policy versus the arm's own reference
 * @param responseLength response length in tokens
 */
public record PromptOutcome(String promptId, double gold, double rewardScore, double klToReference,
                            int responseLength) {

    public PromptOutcome {
        Objects.requireNonNull(promptId, "promptId");
    }
}
