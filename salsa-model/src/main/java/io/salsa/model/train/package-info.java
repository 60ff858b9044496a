/**
 * Training the model: the one supervised loop ({@link io.salsa.model.train.SupervisedTrainer}) that pretraining,
 * SFT and reward-model training share, with one policy for non-finite steps
 * ({@link io.salsa.model.train.NonFinitePolicy}), the one {@link io.salsa.model.train.AdamW} (also the PPO
 * learner's), the learning-rate schedule, gradient clipping, losses and the {@code salsa pretrain} /
 * {@code salsa sft train} commands, bit-reproducible per seed.
 *
 * <p>May not depend on Kafka, topics, the task world or any service.
 */
package io.salsa.model.train;
