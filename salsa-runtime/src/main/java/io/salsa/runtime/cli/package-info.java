/**
 * The launcher's contract: {@link io.salsa.runtime.cli.SalsaSubcommand}, through which each module contributes
 * its {@code salsa} subcommands without the launcher naming them, and the shared Kafka/blob-store options of
 * commands.
 *
 * <p>May not depend on DJL or on any service; it must not know which commands exist.
 */
package io.salsa.runtime.cli;
