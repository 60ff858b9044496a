package io.salsa.generator;

/**
 * Weights ready to sample from, with the identity every rollout they produce is stamped with.
 *
 * @param runId   learner run the weights belong to (the configured run id for the initial weights)
 * @param version policy version (0 = initial weights)
 * @param source  where the weights came from, for logs (e.g. {@code soup:default@3}, a blob URI)
 * @param sampler the loaded model
 */
public record LoadedPolicy(String runId, long version, String source, RolloutSampler sampler) implements AutoCloseable {

    /** Frees the sampler. */
    @Override
    public void close() {
        sampler.close();
    }
}
