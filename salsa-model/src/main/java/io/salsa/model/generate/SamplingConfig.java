package io.salsa.model.generate;

/**
 * How to pick each next token, validated once so a bad setting fails before any work.
 *
 * @param maxNewTokens most tokens to generate per sequence (1..65536; also capped by {@code n_positions})
 * @param temperature  0 = greedy; otherwise logits are divided by it before sampling ((0, 100])
 * @param topK         keep only the k most likely tokens (0 = off)
 * @param topP         keep the smallest set of most likely tokens whose probability reaches p ((0, 1]; 1 = off)
 * @param stopAtEos    end a sequence when it samples any of the model's EOS ids ({@code CausalLm.eosTokenIds()};
 *                     the EOS is part of the response)
 * @param useCache     reuse keys and values of earlier positions (false only for benchmarks and tests)
 */
public record SamplingConfig(int maxNewTokens, double temperature, int topK, double topP, boolean stopAtEos,
                             boolean useCache) {

    public SamplingConfig {
        if (maxNewTokens < 1 || maxNewTokens > 65536) {
            throw new IllegalArgumentException("maxNewTokens must be in [1, 65536], got " + maxNewTokens);
        }
        if (!(temperature >= 0 && temperature <= 100)) {
            throw new IllegalArgumentException("temperature must be in [0, 100] (0 = greedy), got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0 (0 = off), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1] (1 = off), got " + topP);
        }
    }

    /** Greedy decoding (argmax each step), stopping at EOS, with the cache. */
    public static SamplingConfig greedy(int maxNewTokens) {
        return new SamplingConfig(maxNewTokens, 0, 0, 1, true, true);
    }

    /** Plain ancestral sampling at temperature 1 (on-policy for PPO), stopping at EOS, with the cache. */
    public static SamplingConfig sampling(int maxNewTokens) {
        return new SamplingConfig(maxNewTokens, 1, 0, 1, true, true);
    }

    /** Whether every step takes the argmax. */
    public boolean isGreedy() {
        return temperature == 0;
    }

    public SamplingConfig withTemperature(double t) {
        return new SamplingConfig(maxNewTokens, t, topK, topP, stopAtEos, useCache);
    }

    public SamplingConfig withTopK(int k) {
        return new SamplingConfig(maxNewTokens, temperature, k, topP, stopAtEos, useCache);
    }

    public SamplingConfig withTopP(double p) {
        return new SamplingConfig(maxNewTokens, temperature, topK, p, stopAtEos, useCache);
    }

    public SamplingConfig withStopAtEos(boolean stop) {
        return new SamplingConfig(maxNewTokens, temperature, topK, topP, stop, useCache);
    }

    public SamplingConfig withCache(boolean cache) {
        return new SamplingConfig(maxNewTokens, temperature, topK, topP, stopAtEos, cache);
    }
}
