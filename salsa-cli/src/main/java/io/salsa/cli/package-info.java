/**
 * The {@code salsa} launcher, which builds its command tree from every module's
 * {@link io.salsa.runtime.cli.SalsaSubcommand}, and the {@code salsa broker} command.
 *
 * <p>The launcher may not name any module's commands: they are discovered with {@link java.util.ServiceLoader}.
 */
package io.salsa.cli;
