package io.salsa.runtime.cli;

/**
 * A picocli command that the {@code salsa} launcher discovers with {@link java.util.ServiceLoader}, so each
 * module contributes its own subcommands without the launcher naming them.
 *
 * <p>Implementations are annotated with {@code @picocli.CommandLine.Command} and registered in their module's
 * {@code META-INF/services/io.salsa.runtime.cli.SalsaSubcommand}. A command that belongs under a group (for
 * example {@code salsa sft train}) returns the group's name from {@link #group()}; the launcher creates the
 * group once and adds every member to it.
 */
public interface SalsaSubcommand {

    /** The group this command is nested under ({@code "sft"}, {@code "bench"}, …), or {@code null} for top level. */
    default String group() {
        return null;
    }

    /** One line describing the group, used when this command is the first to create it. */
    default String groupDescription() {
        return "";
    }
}
