/**
 * {@code salsa experiment salsa-vs-ppo}: SALSA against PPO from one SFT model under the same budget over
 * several seeds, with exact-KL evaluation and significance tests.
 *
 * <p>May not import {@code io.salsa.cli.report} (the report reads the files this package writes), nor Kafka.
 */
package io.salsa.cli.experiment;
