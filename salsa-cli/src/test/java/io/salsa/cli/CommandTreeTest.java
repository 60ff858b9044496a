package io.salsa.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.runtime.cli.EnvDefaults;
import io.salsa.runtime.cli.SalsaCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** The whole {@code salsa} command tree: {@code --help} works everywhere; every service option reads its variable. */
class CommandTreeTest {

    /** The commands compose runs as services: every option must be settable from the environment. */
    static final List<String> SERVICES = List.of("generate", "score", "soup-builder", "learn", "ingest");

    @TestFactory
    Stream<DynamicTest> shouldPrintHelpOnEveryCommand() {
        List<List<String>> paths = new ArrayList<>();
        collect(Salsa.commandLine(), new ArrayList<>(), paths);
        assertTrue(paths.size() > 20, "the tree has the modules' commands: " + paths);
        return paths.stream().map(path -> DynamicTest.dynamicTest("salsa " + String.join(" ", path) + " --help", () -> {
            CommandLine root = Salsa.commandLine();
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            root.setOut(new PrintWriter(out));
            root.setErr(new PrintWriter(err));
            List<String> args = new ArrayList<>(path);
            args.add("--help");
            int code = root.execute(args.toArray(String[]::new));
            assertEquals(0, code, "exit code of salsa " + args + "; stderr: " + err);
            assertFalse(err.toString().contains("Missing required"), err.toString());
            assertTrue(out.toString().contains("Usage:"), "usage printed for " + args + ": " + out);
        }));
    }

    /** A command's error messages ("salsa rm train: …") name it as the user typed it. */
    @TestFactory
    Stream<DynamicTest> shouldNameEveryCommandInItsErrorsAsTyped() {
        List<List<String>> paths = new ArrayList<>();
        collect(Salsa.commandLine(), new ArrayList<>(), paths);
        return paths.stream().map(path -> DynamicTest.dynamicTest("salsa " + String.join(" ", path), () -> {
            CommandLine cmd = Salsa.commandLine();
            for (String name : path) {
                cmd = cmd.getSubcommands().get(name);
            }
            if (cmd.getCommand() instanceof SalsaCommand command) {
                assertEquals("salsa " + String.join(" ", path), command.commandLine());
            }
        }));
    }

    private static void collect(CommandLine cmd, List<String> path, List<List<String>> into) {
        for (Map.Entry<String, CommandLine> e : cmd.getSubcommands().entrySet()) {
            if (!e.getKey().equals(e.getValue().getCommandName())) {
                continue; // an alias
            }
            List<String> p = new ArrayList<>(path);
            p.add(e.getKey());
            into.add(p);
            collect(e.getValue(), p, into);
        }
    }

    @TestFactory
    Stream<DynamicTest> shouldTakeEveryServiceOptionFromItsVariable() {
        return SERVICES.stream().map(name -> DynamicTest.dynamicTest(name, () -> {
            CommandLine probe = Salsa.commandLine().getSubcommands().get(name);
            assertNotNull(probe, "salsa " + name + " exists");
            Map<String, String> env = new HashMap<>();
            Map<OptionSpec, String> expected = new HashMap<>();
            for (OptionSpec o : probe.getCommandSpec().options()) {
                if (o.usageHelp() || o.versionHelp() || o.typeInfo().isMap()) {
                    continue; // --set KEY=VALUE is the SALSA_LEARNER_<KEY> family, read by LearnerConfig itself
                }
                String variable = EnvDefaults.variable(o);
                assertNotNull(variable, "salsa " + name + " " + o.longestName() + " has an environment variable");
                assertTrue(variable.startsWith("SALSA_"), variable);
                String value = sample(o);
                String previous = env.put(variable, value);
                assertTrue(previous == null, "salsa " + name + ": " + variable + " names two options");
                expected.put(o, value);
            }
            CommandLine root = Salsa.commandLine();
            CommandLine cmd = root.getSubcommands().get(name);
            cmd.setDefaultValueProvider(new EnvDefaults(env));
            // no arguments at all: required options (--run, --recipe) are satisfied by their variables
            root.parseArgs(name);
            for (OptionSpec o : cmd.getCommandSpec().options()) {
                OptionSpec before = match(expected.keySet(), o);
                if (before == null) {
                    continue;
                }
                Object value = o.getValue();
                String got = value instanceof Collection<?> c ? String.join(";", c.stream().map(String::valueOf)
                        .toList()) : String.valueOf(value);
                assertEquals(normalise(expected.get(before)), got, "salsa " + name + " " + o.longestName() + " from $"
                        + EnvDefaults.variable(o));
            }
        }));
    }

    private static OptionSpec match(Collection<OptionSpec> options, OptionSpec o) {
        return options.stream().filter(x -> x.longestName().equals(o.longestName())).findFirst().orElse(null);
    }

    /** A value of the option's type that differs from any default. */
    private static String sample(OptionSpec o) {
        Class<?> t = o.typeInfo().isCollection() ? o.typeInfo().getAuxiliaryTypeInfos().get(0).getType() : o.type();
        if (t.isEnum()) {
            Object[] constants = t.getEnumConstants();
            return constants[constants.length - 1].toString();
        }
        if (t == int.class || t == Integer.class || t == long.class || t == Long.class) {
            return "7";
        }
        if (t == double.class || t == Double.class || t == float.class || t == Float.class) {
            return "0.25";
        }
        if (t == boolean.class || t == Boolean.class) {
            return "true";
        }
        if (t == Path.class) {
            return "/var/lib/salsa/from-env";
        }
        if (o.typeInfo().isCollection()) {
            return "name=a,base=b,k=1;name=c,base=d,k=2";
        }
        return "from-env";
    }

    private static String normalise(String v) {
        return v;
    }
}
