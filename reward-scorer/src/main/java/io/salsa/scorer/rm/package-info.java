/**
 * Training reward models from preference pairs with the Bradley–Terry loss (ties as one half) and publishing
 * them to the reward-models topic, with the same prompt+response rule the scorer applies.
 *
 * <p>May use the scorer's sequence rule and the model library; may not depend on another service.
 */
package io.salsa.scorer.rm;
