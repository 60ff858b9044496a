/**
 * The PPO maths in TRL's names (GAE, KL estimators and controllers, clipped losses, the KL-hack guard, fp16
 * loss scaling, one PPO step on a model), free of any I/O so it can be tested and reused without Kafka.
 *
 * <p>May not depend on Kafka, topics, serdes, the blob store or the service package {@code io.salsa.learner}.
 */
package io.salsa.learner.ppo;
