package io.salsa.learner;

/**
 * Whether the learner trains whole prompt groups per step ({@code group_batches}), because GRPO's and RLOO's
 * baselines come from the other responses to the same prompt: a group split across two steps, or trained short of
 * a member, would be normalised against the wrong company.
 *
 * @param enabled whether batches are cut at group boundaries ({@code group_batches}; default on for grpo and rloo)
 * @param size n, the responses a generator samples per prompt ({@code group_size}; the generator's
 *     {@code samples_per_prompt})
 * @param waitSeconds how long a group with a member still missing holds up the batch before it is dropped and
 *     counted ({@code group_wait_s})
 */
public record GroupBatching(boolean enabled, int size, double waitSeconds) {

    public GroupBatching {
        if (size < 1 || size > 1024) {
            throw new IllegalArgumentException("group_size must be in [1, 1024] (got " + size + ")");
        }
        if (!(waitSeconds >= 0) || !Double.isFinite(waitSeconds)) {
            throw new IllegalArgumentException("group_wait_s must be finite and >= 0 (got " + waitSeconds + ")");
        }
    }

    /** The group size the batch assembler cuts at: n when on, 1 (every rollout its own group) when off. */
    public int assemblySize() {
        return enabled ? size : 1;
    }

    /** {@code group_wait_s} in milliseconds. */
    public long waitMs() {
        return Math.round(waitSeconds * 1000);
    }
}
