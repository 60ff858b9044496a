/**
 * The reward-scorer service: a Kafka Streams application that scores rollouts with the reward model exactly
 * once, in micro-batches kept in a changelogged store, dead-letters bad records and hot-swaps reward models
 * between batches.
 *
 * <p>Depends on {@code salsa-runtime}, the model library and Kafka Streams; may not depend on another service or
 * (outside tests) on {@code salsa-broker}.
 */
package io.salsa.scorer;
