package io.salsa.generator;

/**
 * How responses are sampled, kept together so every rollout can record exactly the settings that produced it: the
 * learner recomputes the behaviour log-probs' distribution from them.
 *
 * @param temperature   softmax temperature, &gt; 0
 * @param topK          keep only the k most likely tokens (0 = off)
 * @param topP          nucleus cut-off in (0, 1] (1 = off)
 * @param maxNewTokens  length limit of a response, &ge; 1
 */
public record SamplingParams(float temperature, int topK, float topP, int maxNewTokens) {

    public SamplingParams {
        if (!(temperature > 0f) || !Float.isFinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be >= 0 (0 = off), got " + topK);
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("max_new_tokens must be >= 1, got " + maxNewTokens);
        }
    }
}
