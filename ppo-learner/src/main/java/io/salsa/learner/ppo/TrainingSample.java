package io.salsa.learner.ppo;

/**
 * One scored rollout as the PPO step needs it: prompt and response token ids, the generator's log-probs of the
 * response tokens, whether it stopped at EOS, the reward-model score, and how the generator sampled it (so the
 * learner's log-probs refer to the same distribution as the behaviour log-probs).
 *
 * @param behaviourLogprobs log μ(token) of each response token under the distribution the generator sampled from
 *                          ({@code sampling}: temperature, then the top-k/top-p cut, renormalised)
 * @param sampling          the generator's sampling settings; null when the caller does not say, and the learner
 *                          then assumes its configured {@code temperature} without cut-offs
 * @param groupKey          which prompt group the sample belongs to (the rollout's prompt id): GRPO and RLOO take
 *                          their baseline from the other samples with the same key; null = a group of one
 */
public record TrainingSample(int[] queryTokens, int[] responseTokens, float[] behaviourLogprobs, boolean stoppedAtEos,
        float score, Sampling sampling, String groupKey) {

    /**
     * How a rollout was sampled: logits divided by {@code temperature}, then cut to the {@code topK} most likely
     * tokens (0 = off) and to the smallest most-likely set whose probability reaches {@code topP} (1 = off).
     */
    public record Sampling(float temperature, int topK, float topP) {
        public Sampling {
            if (!(temperature > 0) || !Float.isFinite(temperature)) {
                throw new IllegalArgumentException("temperature must be finite and > 0 (got " + temperature + ")");
            }
            if (topK < 0) {
                throw new IllegalArgumentException("topK must be >= 0, 0 = off (got " + topK + ")");
            }
            if (!(topP > 0 && topP <= 1)) {
                throw new IllegalArgumentException("topP must be in (0, 1], 1 = off (got " + topP + ")");
            }
        }

        /** Plain sampling at {@code temperature}: no top-k, no top-p. */
        public static Sampling plain(float temperature) {
            return new Sampling(temperature, 0, 1f);
        }
    }

    /** A sample of no prompt group (PPO does not need one). */
    public TrainingSample(int[] queryTokens, int[] responseTokens, float[] behaviourLogprobs, boolean stoppedAtEos,
            float score, Sampling sampling) {
        this(queryTokens, responseTokens, behaviourLogprobs, stoppedAtEos, score, sampling, null);
    }

    /** A sample that does not say how it was sampled: the learner assumes its configured temperature, no cut-offs. */
    public TrainingSample(int[] queryTokens, int[] responseTokens, float[] behaviourLogprobs, boolean stoppedAtEos,
            float score) {
        this(queryTokens, responseTokens, behaviourLogprobs, stoppedAtEos, score, null, null);
    }

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
