package io.salsa.runtime.cli;

import java.nio.file.NoSuchFileException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/**
 * The base of a {@code salsa} subcommand, so that each command says once which group it sits in and refuses bad
 * input the one way: {@code salsa <group> <name>: <problem>} on stderr and exit code {@value #EXIT_BAD_INPUT}.
 *
 * <p>The command's name comes from its {@code @Command} annotation; the group and its description from the
 * constructor ({@link SalsaSubcommand#group()}).
 */
public abstract class SalsaCommand implements Callable<Integer>, SalsaSubcommand {

    /** The exit code of every command for bad input (a flag, a file, a setting). */
    public static final int EXIT_BAD_INPUT = 2;

    private final String group;
    private final String groupDescription;

    /** A top-level command ({@code salsa <name>}). */
    protected SalsaCommand() {
        this(null, "");
    }

    /** A command nested under {@code group} ({@code salsa <group> <name>}), described by {@code groupDescription}. */
    protected SalsaCommand(String group, String groupDescription) {
        this.group = group;
        this.groupDescription = groupDescription;
    }

    @Override
    public final String group() {
        return group;
    }

    @Override
    public final String groupDescription() {
        return groupDescription;
    }

    /** How the user typed this command: {@code salsa}, the group if any, and the {@code @Command} name. */
    public final String commandLine() {
        Command command = getClass().getAnnotation(Command.class);
        String name = command == null ? getClass().getSimpleName() : command.name();
        return "salsa " + (group == null ? "" : group + " ") + name;
    }

    /** Prints {@code salsa <command>: problem} on stderr and returns {@value #EXIT_BAD_INPUT}. */
    protected final int refuse(String problem) {
        System.err.println(commandLine() + ": " + problem);
        return EXIT_BAD_INPUT;
    }

    /** {@link #refuse(String)} with {@link #message(Exception) the message} of a bad-input exception. */
    protected final int refuse(Exception e) {
        return refuse(message(e));
    }

    /** The user-facing message of {@code e}: "no such file: X" for a missing file, else its message (or itself). */
    public static String message(Exception e) {
        if (e instanceof NoSuchFileException n) {
            return "no such file: " + n.getMessage();
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }
}
