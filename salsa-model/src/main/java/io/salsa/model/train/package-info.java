/**
 * Supervised training of the model (pretraining and SFT): the optimiser, learning-rate schedule, gradient
 * clipping, losses and the {@code salsa pretrain} / {@code salsa sft train} commands, bit-reproducible per seed.
 *
 * <p>May not depend on Kafka, topics, the task world or any service.
 */
package io.salsa.model.train;
