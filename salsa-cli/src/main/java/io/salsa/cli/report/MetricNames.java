package io.salsa.cli.report;

import java.util.List;

/**
 * The metric names the report plots, following TRL so runs compare with TRL's; each quantity lists the
 * aliases it accepts, first match wins, because learners name response length differently.
 */
public final class MetricNames {

    /** Mean reward-model score of the step's responses. */
    public static final List<String> SCORE = List.of("objective/scores");
    /** Mean KL(π ‖ π_ref) per sequence. */
    public static final List<String> KL = List.of("objective/kl");
    /** Score minus β·KL: what PPO maximises. */
    public static final List<String> RLHF_REWARD = List.of("objective/rlhf_reward");
    /** Mean response length in tokens. */
    public static final List<String> RESPONSE_LENGTH = List.of(
            "objective/response_length", "val/response_length", "completions/mean_length", "response_length");
    /**
     * The simulated rater's (gold) score of greedy answers to held-out prompts, measured every few steps: the
     * judge the proxy reward should track (the learner's {@code eval_steps}, the experiment's guard check; both
     * write {@code eval/heldout_score}; experiment runs written before they shared the trainer wrote
     * {@code eval/gold_score}).
     */
    public static final List<String> HELDOUT_GOLD = List.of("eval/heldout_score", "eval/gold_score");
    /** The KL coefficient β in force during the step. */
    public static final List<String> KL_COEF = List.of("objective/kl_coef", "kl_coef");

    private MetricNames() {
    }
}
