package io.salsa.cli;

import io.salsa.runtime.cli.SalsaSubcommand;
import io.salsa.schemas.KafkaErrors;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The {@code salsa} command: one entry point whose subcommands every module contributes. */
@Command(
        name = "salsa",
        mixinStandardHelpOptions = true,
        version = "salsa-stream 0.1.0",
        description = "SALSA: PPO against a model-soup reference, continuously, on Apache Kafka.",
        subcommands = CommandLine.HelpCommand.class)
public final class Salsa implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Builds the command tree from every {@link SalsaSubcommand} on the classpath. */
    public static CommandLine commandLine() {
        CommandLine root = new CommandLine(new Salsa());
        List<SalsaSubcommand> commands = new ArrayList<>();
        ServiceLoader.load(SalsaSubcommand.class).forEach(commands::add);
        commands.sort(Comparator.comparing(c -> c.getClass().getName()));
        for (SalsaSubcommand command : commands) {
            CommandLine child = new CommandLine(command);
            String group = command.group();
            if (group == null) {
                root.addSubcommand(child);
                continue;
            }
            CommandLine parent = root.getSubcommands().get(group);
            if (parent == null) {
                parent = new CommandLine(new Group(), root.getFactory());
                parent.getCommandSpec().name(group);
                parent.getCommandSpec().usageMessage().description(command.groupDescription());
                parent.getCommandSpec().mixinStandardHelpOptions(true);
                root.addSubcommand(group, parent);
            }
            parent.addSubcommand(child);
        }
        root.setCaseInsensitiveEnumValuesAllowed(true);
        root.setExecutionExceptionHandler(Salsa::kafkaAccessDenied);
        return root;
    }

    /**
     * A refused login or a missing ACL ends any command with the one line {@code KafkaErrors} wrote (principal,
     * topic, where the credentials came from) and exit code 1 instead of a stack trace; other failures as before.
     */
    static int kafkaAccessDenied(Exception e, CommandLine cl, CommandLine.ParseResult parsed) throws Exception {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof KafkaErrors.KafkaAccessException denied) {
                cl.getErr().println(cl.getCommandSpec().qualifiedName() + ": " + denied.getMessage());
                return 1;
            }
        }
        throw e;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** A command that only groups others ({@code salsa sft …}); alone it prints its usage. */
    @Command(mixinStandardHelpOptions = true)
    static final class Group implements Runnable {
        @Spec
        CommandSpec spec;

        @Override
        public void run() {
            spec.commandLine().usage(System.out);
        }
    }
}
