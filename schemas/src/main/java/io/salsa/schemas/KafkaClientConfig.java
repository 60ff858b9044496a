package io.salsa.schemas;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Kafka client properties of a deployment beyond its bootstrap address (security protocol, SASL, TLS, timeouts,
 * tuning), read from a {@code client.properties} file ({@value #CONFIG_ENV}, the file the Kafka CLIs take as
 * {@code --command-config}) and from {@code SALSA_KAFKA_<PROPERTY>} variables, so that every producer, consumer,
 * admin client and Streams app of every service connects to a secured cluster the same way.
 *
 * <p>Precedence, lowest first: the built-in defaults of {@link KafkaSettings} &lt; the file &lt; the variables &lt;
 * what the code sets for correctness. A file or variable that contradicts one of those (for example
 * {@code enable.idempotence=false} or {@code isolation.level=read_uncommitted}) is refused at start with an error
 * naming the property and where it was set, instead of being silently ignored or silently breaking exactly-once.
 *
 * <p>Variable names: {@code SALSA_KAFKA_} followed by the property in upper case, with {@code .} written as
 * {@code _}, {@code _} as {@code __} and {@code -} as {@code ___} (the convention of Confluent's Docker images):
 * {@code SALSA_KAFKA_SECURITY_PROTOCOL} is {@code security.protocol}, {@code SALSA_KAFKA_SASL_JAAS_CONFIG} is
 * {@code sasl.jaas.config}. {@code SALSA_KAFKA_BOOTSTRAP} and {@code SALSA_KAFKA_CONFIG} are not properties.
 *
 * @param properties the properties, by name (sorted, unmodifiable); never {@code bootstrap.servers}
 * @param sources    where each property was set ({@code "SALSA_KAFKA_CONFIG file /x"} or the variable's name)
 */
public record KafkaClientConfig(Map<String, String> properties, Map<String, String> sources) {

    /** The variable naming a client.properties file. */
    public static final String CONFIG_ENV = "SALSA_KAFKA_CONFIG";
    /** Every other variable with this prefix is a client property (except {@link KafkaSettings#BOOTSTRAP_ENV}). */
    public static final String ENV_PREFIX = "SALSA_KAFKA_";
    /** No properties beyond the built-in ones. */
    public static final KafkaClientConfig NONE = new KafkaClientConfig(Map.of(), Map.of());

    static final String BOOTSTRAP_PROPERTY = "bootstrap.servers";

    /** Properties the code sets to one value because exactly-once or at-least-once depends on it. */
    private static final Map<String, Set<String>> REQUIRED = Map.of(
            "enable.idempotence", Set.of("true"),
            "acks", Set.of("all", "-1"),
            "isolation.level", Set.of("read_committed"),
            "enable.auto.commit", Set.of("false"),
            "auto.offset.reset", Set.of("earliest"),
            "processing.guarantee", Set.of("exactly_once_v2"));
    private static final Map<String, String> WHY_REQUIRED = Map.of(
            "enable.idempotence", "a retried send must never duplicate a record",
            "acks", "a record counts as sent only once every in-sync replica has it",
            "isolation.level", "services must never read records of aborted transactions",
            "enable.auto.commit", "offsets are committed only after the work they stand for is durable",
            "auto.offset.reset", "a new consumer group must not skip records written before it started",
            "processing.guarantee", "the reward scorer scores every rollout exactly once");
    /** Properties the code sets per client; a deployment-wide value would be wrong for all but one client. */
    private static final Map<String, String> OWNED = Map.of(
            "group.id", "consumer groups are named by each service and prefixed with " + KafkaSettings.PREFIX_ENV,
            "application.id", "the Streams application id is the scorer's --app-id prefixed with "
                    + KafkaSettings.PREFIX_ENV,
            "transactional.id", "transactional ids belong to the one client that fences with them",
            "key.serializer", "serdes are chosen per topic by the code",
            "value.serializer", "serdes are chosen per topic by the code",
            "key.deserializer", "serdes are chosen per topic by the code",
            "value.deserializer", "serdes are chosen per topic by the code");
    private static final Pattern ENV_SUFFIX = Pattern.compile("[A-Z0-9]+(_+[A-Z0-9]+)*");
    private static final Pattern JAAS_USERNAME = Pattern.compile("username\\s*=\\s*\"([^\"]*)\"");

    public KafkaClientConfig {
        properties = Collections.unmodifiableMap(new TreeMap<>(properties));
        sources = Collections.unmodifiableMap(new TreeMap<>(sources));
        for (Map.Entry<String, String> e : properties.entrySet()) {
            check(e.getKey(), e.getValue(), sources.getOrDefault(e.getKey(), "the Kafka client config"));
        }
    }

    /**
     * Reads the file named by {@value #CONFIG_ENV} (if set) and every {@code SALSA_KAFKA_<PROPERTY>} variable; a
     * variable wins over the file. {@code bootstrap.servers} stays in the result only for
     * {@link KafkaSettings#fromEnv} to fall back on; see {@link #bootstrapServers()}.
     *
     * @throws IllegalArgumentException naming the file or variable when the file cannot be read, a variable name
     *                                  is not a property, or a property contradicts what the code needs
     */
    public static KafkaClientConfig fromEnv(Map<String, String> env) {
        Map<String, String> props = new TreeMap<>();
        Map<String, String> sources = new TreeMap<>();
        String file = env.get(CONFIG_ENV);
        if (file != null && !file.isBlank()) {
            Path path = Path.of(file.strip());
            String source = CONFIG_ENV + " file " + path;
            load(path).forEach((k, v) -> {
                props.put(k, v);
                sources.put(k, source);
            });
        }
        new TreeMap<>(env).forEach((name, value) -> {
            if (name.startsWith(ENV_PREFIX) && !name.equals(CONFIG_ENV) && !name.equals(KafkaSettings.BOOTSTRAP_ENV)
                    && value != null && !value.isBlank()) {
                String property = propertyName(name);
                props.put(property, value.strip());
                sources.put(property, name);
            }
        });
        return new KafkaClientConfig(props, sources);
    }

    /** Only the {@code SALSA_KAFKA_*} entries of {@code env} (the bootstrap, the file, the properties). */
    public static Map<String, String> variables(Map<String, String> env) {
        Map<String, String> out = new TreeMap<>();
        env.forEach((k, v) -> {
            if (k.startsWith(ENV_PREFIX) && v != null) {
                out.put(k, v);
            }
        });
        return out;
    }

    /**
     * Reads a client.properties file (Java properties syntax, as the Kafka CLIs read it).
     *
     * @throws IllegalArgumentException naming {@value #CONFIG_ENV} and the file when it is missing or unreadable
     */
    static Map<String, String> load(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException(CONFIG_ENV + "='" + path + "': no such file (it must name a Kafka "
                    + "client.properties file, as the Kafka CLIs' --command-config)");
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException(CONFIG_ENV + "='" + path + "': cannot read it: " + e.getMessage(), e);
        }
        Map<String, String> out = new LinkedHashMap<>();
        p.stringPropertyNames().forEach(k -> out.put(k.strip(), p.getProperty(k).strip()));
        return out;
    }

    /**
     * The property a {@code SALSA_KAFKA_*} variable sets: lower case, {@code _} → {@code .}, {@code __} →
     * {@code _}, {@code ___} → {@code -}.
     *
     * @throws IllegalArgumentException naming the variable when its name cannot be a property
     */
    public static String propertyName(String variable) {
        String suffix = variable.startsWith(ENV_PREFIX) ? variable.substring(ENV_PREFIX.length()) : variable;
        if (!ENV_SUFFIX.matcher(suffix).matches()) {
            throw new IllegalArgumentException(variable + ": not a Kafka client property variable; write "
                    + ENV_PREFIX + "<PROPERTY> in upper case with '.' as '_', '_' as '__' and '-' as '___', "
                    + "e.g. SALSA_KAFKA_SECURITY_PROTOCOL for security.protocol");
        }
        StringBuilder out = new StringBuilder();
        Matcher m = Pattern.compile("_+").matcher(suffix);
        int last = 0;
        while (m.find()) {
            out.append(suffix, last, m.start());
            int run = m.end() - m.start();
            if (run > 3) {
                throw new IllegalArgumentException(variable + ": " + run + " underscores in a row mean nothing; "
                        + "'_' is '.', '__' is '_', '___' is '-'");
            }
            out.append(run == 1 ? '.' : run == 2 ? '_' : '-');
            last = m.end();
        }
        out.append(suffix.substring(last));
        return out.toString().toLowerCase(Locale.ROOT);
    }

    /** The variable that sets {@code property}: the inverse of {@link #propertyName}. */
    public static String variableName(String property) {
        StringBuilder out = new StringBuilder(ENV_PREFIX);
        for (char c : property.toCharArray()) {
            out.append(c == '.' ? "_" : c == '_' ? "__" : c == '-' ? "___" : String.valueOf(c));
        }
        return out.toString().toUpperCase(Locale.ROOT);
    }

    private static void check(String property, String value, String source) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        Set<String> allowed = REQUIRED.get(property);
        if (allowed != null && !allowed.contains(v)) {
            throw new IllegalArgumentException(source + " sets " + property + "=" + value + ", but salsa needs "
                    + property + "=" + allowed.iterator().next() + " (" + WHY_REQUIRED.get(property)
                    + "): remove it");
        }
        String why = OWNED.get(property);
        if (why != null) {
            throw new IllegalArgumentException(source + " sets " + property + ", which salsa sets per client ("
                    + why + "): remove it");
        }
    }

    /** {@code bootstrap.servers} of the file or {@code SALSA_KAFKA_BOOTSTRAP_SERVERS}, or null. */
    public String bootstrapServers() {
        return properties.get(BOOTSTRAP_PROPERTY);
    }

    /** These properties without {@code bootstrap.servers} (which {@link KafkaSettings} owns). */
    public KafkaClientConfig withoutBootstrap() {
        if (!properties.containsKey(BOOTSTRAP_PROPERTY)) {
            return this;
        }
        Map<String, String> p = new TreeMap<>(properties);
        Map<String, String> s = new TreeMap<>(sources);
        p.remove(BOOTSTRAP_PROPERTY);
        s.remove(BOOTSTRAP_PROPERTY);
        return new KafkaClientConfig(p, s);
    }

    /**
     * The principal these properties log in as, for error messages: {@code User:<name>} from the
     * {@code username="…"} of {@code sasl.jaas.config}, else {@code User:ANONYMOUS} on a plaintext connection, else
     * a description of what decides it (a TLS client certificate, an OAuth token).
     */
    public String principal() {
        String jaas = properties.get("sasl.jaas.config");
        if (jaas != null) {
            Matcher m = JAAS_USERNAME.matcher(jaas);
            if (m.find()) {
                return "User:" + m.group(1);
            }
            return "the principal of sasl.jaas.config";
        }
        String protocol = properties.getOrDefault("security.protocol", "PLAINTEXT").toUpperCase(Locale.ROOT);
        return protocol.equals("SSL") ? "the principal of the TLS client certificate" : "User:ANONYMOUS";
    }

    /** Whether a property is set (by the file or a variable). */
    public boolean has(String property) {
        return properties.containsKey(property);
    }

    /** Where {@code property} was set, for messages; null when it was not. */
    public String sourceOf(String property) {
        return sources.get(property);
    }

    /**
     * Writes the properties a client of the given kind takes into {@code target}: those it knows and those no
     * client knows (plug-in settings), but not those only another kind knows (a consumer's
     * {@code isolation.level} is not given to a producer, which would log it as unknown).
     */
    void applyTo(Properties target, Set<String> ownNames, Set<String> anyClientNames) {
        properties.forEach((k, v) -> {
            if (ownNames.contains(k) || !anyClientNames.contains(k)) {
                target.setProperty(k, v);
            }
        });
    }

    @Override
    public String toString() {
        // the JAAS config and passwords must never reach a log line
        Map<String, String> shown = new TreeMap<>();
        properties.forEach((k, v) -> shown.put(k, k.contains("password") || k.contains("jaas") || k.contains("secret")
                || k.contains("token") ? "[hidden]" : v));
        return "KafkaClientConfig" + shown;
    }
}
