package io.salsa.runtime.cli;

import java.lang.reflect.AnnotatedElement;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Makes every option of a service command settable from the environment, as compose and the README promise: an
 * option's default is read from its variable, so a container needs no command-line flags (required ones included).
 *
 * <p>An option's variable is the {@code SALSA_…} name its description shows (the name the service's configuration
 * reads, e.g. {@code --temperature ($SALSA_GENERATOR_TEMPERATURE)}); an option whose description names none gets
 * {@code --foo-bar → SALSA_FOO_BAR}. A flag on the command line still wins; a blank variable counts as unset.
 * Commands opt in with {@code @Command(defaultValueProvider = EnvDefaults.class)}.
 */
public final class EnvDefaults implements IDefaultValueProvider {

    private static final Pattern NAMED = Pattern.compile("\\b(SALSA_[A-Z0-9_]*[A-Z0-9])\\b(?![<_])");

    private final Map<String, String> env;

    /** Reads the process environment (how picocli creates it from the annotation). */
    public EnvDefaults() {
        this(System.getenv());
    }

    /** Reads {@code env} (tests). */
    public EnvDefaults(Map<String, String> env) {
        this.env = Map.copyOf(env);
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        String name = variable(arg);
        if (name == null) {
            return null;
        }
        String value = env.get(name);
        return value == null || value.isBlank() ? null : value.strip();
    }

    /**
     * The environment variable of {@code arg}, or null for positional parameters, {@code --help}/{@code --version}
     * and options whose description only describes a family of variables ({@code SALSA_LEARNER_<KEY>}).
     */
    public static String variable(ArgSpec arg) {
        if (!(arg instanceof OptionSpec option) || option.usageHelp() || option.versionHelp()) {
            return null;
        }
        // the description as written: picocli's description() expands ${DEFAULT-VALUE}, which asks this provider
        String[] description = option.userObject() instanceof AnnotatedElement e && e.isAnnotationPresent(Option.class)
                ? e.getAnnotation(Option.class).description() : new String[0];
        for (String line : description) {
            Matcher m = NAMED.matcher(line);
            if (m.find()) {
                return m.group(1);
            }
        }
        if (String.join(" ", description).contains("SALSA_")) {
            return null;
        }
        return "SALSA_" + option.longestName().replaceFirst("^-+", "").toUpperCase(Locale.ROOT).replace('-', '_');
    }
}
