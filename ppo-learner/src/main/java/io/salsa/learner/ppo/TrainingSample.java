package io.salsa.learner.ppo;

/**
 * One scored rollout as the PPO step needs it: prompt and response token ids, the generator's log-probs of the
 * response tokens, whether it stopped at EOS, and the reward-model score.
 */
public record TrainingSample(int[] queryTokens, int[] responseTokens, float[] behaviourLogprobs, boolean stoppedAtEos,
        float score) {
    public TrainingSample {
        if (queryTokens.length == 0) {
            throw new IllegalArgumentException("a rollout needs at least one prompt token");
        }
        if (responseTokens.length == 0) {
            throw new IllegalArgumentException("a rollout needs at least one response token");
        }
        if (behaviourLogprobs.length != responseTokens.length) {
            throw new IllegalArgumentException("behaviourLogProbs has " + behaviourLogprobs.length
                    + " entries for " + responseTokens.length + " response tokens");
        }
        if (!Float.isFinite(score)) {
            throw new IllegalArgumentException("score must be finite (got " + score + ")");
        }
    }
}
