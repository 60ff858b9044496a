package io.salsa.cli.demo;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What the SALSA loop's reward scorer serves ({@code salsa demo --reward}): the reward model trained from the raters'
 * preferences, as in production, or the simulated rater itself, the judge the reward model stands in for. The
 * second is an ablation, not an alignment result: it measures how far the loop's RL settings can move the policy
 * when the reward is exactly right, so a run with the reward model can be read against that ceiling.
 */
public enum DemoReward {
    /** The reward model of the reward-model stage (the default). */
    MODEL,
    /** The simulated rater's gold score of each rollout ({@link GoldRewardModel}). */
    ORACLE;

    /** The option values, lower case. */
    public static final List<String> NAMES = Arrays.stream(values()).map(DemoReward::optionName).toList();

    /** The value as {@code --reward} spells it. */
    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** @throws IllegalArgumentException naming the supported values */
    public static DemoReward parse(String s) {
        for (DemoReward r : values()) {
            if (r.optionName().equals(s)) {
                return r;
            }
        }
        throw new IllegalArgumentException("--reward \"" + s + "\" is not supported (supported: "
                + String.join(", ", NAMES) + ")");
    }
}
