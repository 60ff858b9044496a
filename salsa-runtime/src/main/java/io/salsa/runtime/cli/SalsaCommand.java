package io.salsa.runtime.cli;

import java.nio.file.NoSuchFileException;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Spec;

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
    @Spec(Spec.Target.SELF)
    private CommandSpec spec;

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

    /** The command's own name, from its {@code @Command} annotation. */
    public final String name() {
        Command command = getClass().getAnnotation(Command.class);
        return command == null ? getClass().getSimpleName() : command.name();
    }

    /** How the user typed this command: {@code salsa}, the group if any, and the {@code @Command} name. */
    public final String commandLine() {
        return "salsa " + (group == null ? "" : group + " ") + name();
    }

    /**
     * This command's own options (not its mixins') by the environment variable each stands for
     * ({@link EnvDefaults#variable}: the {@code SALSA_…} name its description shows), in declaration order.
     */
    protected final Map<String, OptionSpec> ownOptionsByVariable() {
        if (spec == null) {
            throw new IllegalStateException(commandLine() + " was not created by picocli: it has no options");
        }
        Set<OptionSpec> mixedIn = Collections.newSetFromMap(new IdentityHashMap<>());
        spec.mixins().values().forEach(m -> mixedIn.addAll(m.options()));
        Map<String, OptionSpec> out = new LinkedHashMap<>();
        for (OptionSpec o : spec.options()) {
            String variable = EnvDefaults.variable(o);
            if (variable != null && !mixedIn.contains(o)) {
                out.put(variable, o);
            }
        }
        return out;
    }

    /**
     * A copy of {@code env} with every own option that has a value written over its variable, for a service whose
     * configuration reads the environment: the variable is named once, in the option's description, and the help
     * shows it. Mixins write theirs themselves ({@code ServiceOptions.applyTo}).
     */
    protected final Map<String, String> withOwnOptions(Map<String, String> env) {
        Map<String, String> out = new HashMap<>(env);
        ownOptionsByVariable().forEach((variable, option) -> {
            Object value = option.getValue();
            if (value != null) {
                out.put(variable, value.toString());
            }
        });
        return out;
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
