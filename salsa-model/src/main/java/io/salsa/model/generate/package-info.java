/**
 * Batched sampling from a model with a KV cache and one seeded random stream per sequence, returning the
 * behaviour log-probs PPO needs (under the distribution actually sampled from, which {@code SampledLogprobs}
 * recomputes on the device for a learner), so the same seeds give the same tokens however sequences are batched.
 *
 * <p>Depends only on {@code io.salsa.model.lm}; may not depend on Kafka, training or any service.
 */
package io.salsa.model.generate;
