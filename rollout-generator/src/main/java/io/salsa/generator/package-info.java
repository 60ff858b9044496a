/**
 * The rollout-generator service: samples responses to prompts from the newest policy it has loaded and
 * publishes them with behaviour log-probs and the exact policy version, committing a prompt only after its
 * rollouts are acknowledged and pausing at the staleness bound.
 *
 * <p>Depends on {@code salsa-runtime} and the model library; may not depend on another service or (outside tests)
 * on {@code salsa-broker}.
 */
package io.salsa.generator;
