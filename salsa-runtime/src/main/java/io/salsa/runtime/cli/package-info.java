/**
 * The launcher's contract: {@link io.salsa.runtime.cli.SalsaSubcommand}, through which each module contributes
 * its {@code salsa} subcommands without the launcher naming them, and the options every command shares, declared
 * once: {@link io.salsa.runtime.cli.KafkaOptions} ({@code --bootstrap}, {@code --topic-prefix},
 * {@code --schema-registry}) and {@link io.salsa.runtime.cli.ServiceOptions} (those plus {@code --blob-store} and
 * {@code --cache-dir}), each falling back to its environment variable.
 *
 * <p>May not depend on DJL or on any service; it must not know which commands exist.
 */
package io.salsa.runtime.cli;
