/**
 * {@code salsa experiment salsa-vs-ppo}: SALSA against PPO from one SFT model under the same budget over
 * several seeds, each arm trained through the learner's own {@code PpoTrainer}, with exact-KL evaluation and
 * significance tests.
 *
 * <p>Writes its run folder with {@code io.salsa.cli.report}'s classes (one direction only: the report never imports
 * this package) and takes its statistics from {@code io.salsa.cli.stats}; may not use Kafka.
 */
package io.salsa.cli.experiment;
