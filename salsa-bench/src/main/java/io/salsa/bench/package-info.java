/**
 * The {@code salsa bench} commands: throughput measurements of the serde, the model, soups and each service on a
 * real broker, kept out of the services so that no service jar carries a benchmark or the in-process broker, with
 * one set of shared options ({@link io.salsa.bench.BenchOptions}: warm-up, measured amount, {@code --output} CSV,
 * {@code --bootstrap} or an in-process broker).
 *
 * <p>May use the services it measures, the model library and {@code salsa-broker}; nothing may depend on it at
 * compile scope (the launcher finds its commands through {@code SalsaSubcommand}). Numbers are printed, never
 * asserted.
 */
package io.salsa.bench;
