/**
 * The SALSA learner service: PPO against the soup reference fed by the scored-rollouts topic, making every step
 * durable (checkpoint, metrics, batch manifest, then offsets) so a run restarts without training a record twice
 * and replays bit for bit. {@link io.salsa.learner.PpoTrainer} is the step without transport (also used by the
 * experiment and by {@link io.salsa.learner.Replay}); {@link io.salsa.learner.PpoLearner} is its Kafka adapter
 * and the {@code Service}.
 *
 * <p>Depends on {@code salsa-runtime}, the model library and the task world (for the held-out check); may not
 * depend on another service or (outside tests) on {@code salsa-broker}.
 */
package io.salsa.learner;
