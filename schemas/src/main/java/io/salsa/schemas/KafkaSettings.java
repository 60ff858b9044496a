package io.salsa.schemas;

import io.salsa.schemas.registry.ConfluentRestSchemaRegistry;
import io.salsa.schemas.registry.KafkaTopicSchemaRegistry;
import io.salsa.schemas.registry.SchemaRegistry;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * Where a service finds Kafka, which topic prefix its deployment uses and which schema registry holds the schemas,
 * built from the environment at start-up, so every service configures its clients and serdes the same way.
 *
 * <p>The registry is opened on first use and shared by every caller with equal settings in this JVM (a record
 * compares by value); {@link #closeRegistry()} closes it.
 *
 * @param bootstrapServers Kafka bootstrap servers, {@code host:port[,host:port…]} ({@value #BOOTSTRAP_ENV})
 * @param topicPrefix      prefix of every topic name of the deployment, may be empty ({@value #PREFIX_ENV})
 * @param registrySpec     {@value #EMBEDDED} (schemas in a compacted topic of this Kafka) or the http(s) URL of a
 *                         Confluent-API registry ({@value #REGISTRY_ENV})
 * @param client           further client properties (security, timeouts, tuning) for every client of the
 *                         deployment ({@code SALSA_KAFKA_CONFIG}, {@code SALSA_KAFKA_<PROPERTY>}); see
 *                         {@link KafkaClientConfig}
 */
public record KafkaSettings(String bootstrapServers, String topicPrefix, String registrySpec,
                            KafkaClientConfig client) {

    public static final String BOOTSTRAP_ENV = "SALSA_KAFKA_BOOTSTRAP";
    public static final String PREFIX_ENV = "SALSA_TOPIC_PREFIX";
    public static final String REGISTRY_ENV = "SALSA_SCHEMA_REGISTRY";
    /** Registry spec of the embedded registry (the default). */
    public static final String EMBEDDED = "embedded";
    /** Largest record a producer sends; the embedded broker accepts the same. */
    public static final int MAX_RECORD_BYTES = 8 * 1024 * 1024;

    private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9._-]+):(\\d{1,5})");
    private static final Pattern PREFIX = Pattern.compile("[a-zA-Z0-9._-]{0,100}");
    private static final Map<KafkaSettings, SchemaRegistry> REGISTRIES = new ConcurrentHashMap<>();
    private static final Set<String> ANY_CLIENT_CONFIG = anyClientConfig();

    public KafkaSettings {
        Objects.requireNonNull(bootstrapServers, BOOTSTRAP_ENV);
        client = client == null ? KafkaClientConfig.NONE : client.withoutBootstrap();
        Objects.requireNonNull(topicPrefix, PREFIX_ENV);
        Objects.requireNonNull(registrySpec, REGISTRY_ENV);
        bootstrapServers = bootstrapServers.strip();
        if (bootstrapServers.isEmpty()) {
            throw new IllegalArgumentException(BOOTSTRAP_ENV + " is empty: set it to the Kafka bootstrap servers, "
                    + "e.g. 127.0.0.1:9092 (the address `salsa broker` prints)");
        }
        for (String server : bootstrapServers.split(",", -1)) {
            var m = HOST_PORT.matcher(server.strip());
            int port = m.matches() ? Integer.parseInt(m.group(2)) : -1;
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException(BOOTSTRAP_ENV + "='" + bootstrapServers + "': '" + server.strip()
                        + "' is not host:port with a port of 1-65535");
            }
        }
        if (!PREFIX.matcher(topicPrefix).matches()) {
            throw new IllegalArgumentException(PREFIX_ENV + "='" + topicPrefix
                    + "' must be 0-100 characters of [a-zA-Z0-9._-]");
        }
        registrySpec = registrySpec.strip();
        if (!registrySpec.equals(EMBEDDED)) {
            validateUrl(registrySpec);
        }
    }

    /** Settings with no client properties beyond the built-in ones (a plaintext cluster). */
    public KafkaSettings(String bootstrapServers, String topicPrefix, String registrySpec) {
        this(bootstrapServers, topicPrefix, registrySpec, KafkaClientConfig.NONE);
    }

    private static void validateUrl(String spec) {
        String problem;
        try {
            URI uri = new URI(spec);
            boolean http = "http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme());
            problem = !http ? "its scheme must be http or https"
                    : uri.getHost() == null ? "it has no host"
                    : null;
        } catch (URISyntaxException e) {
            problem = e.getMessage();
        }
        if (problem != null) {
            throw new IllegalArgumentException(REGISTRY_ENV + "='" + spec + "' must be '" + EMBEDDED
                    + "' or the http(s) URL of a Confluent-API schema registry: " + problem);
        }
    }

    /**
     * Reads {@value #BOOTSTRAP_ENV} (required, unless the client properties set {@code bootstrap.servers}),
     * {@value #PREFIX_ENV} (default empty), {@value #REGISTRY_ENV} (default {@value #EMBEDDED}) and the client
     * properties of {@link KafkaClientConfig#fromEnv}; blank counts as unset.
     *
     * @throws IllegalArgumentException naming the variable (or file) and the problem
     */
    public static KafkaSettings fromEnv(Map<String, String> env) {
        KafkaClientConfig client = KafkaClientConfig.fromEnv(env);
        String bootstrap = env.get(BOOTSTRAP_ENV);
        if (bootstrap == null || bootstrap.isBlank()) {
            bootstrap = client.bootstrapServers();
        }
        if (bootstrap == null || bootstrap.isBlank()) {
            throw new IllegalArgumentException(BOOTSTRAP_ENV + " is not set: set it to the Kafka bootstrap servers, "
                    + "e.g. 127.0.0.1:9092 (start a broker with `salsa broker`, which prints its address)");
        }
        return new KafkaSettings(bootstrap, orDefault(env.get(PREFIX_ENV), ""),
                orDefault(env.get(REGISTRY_ENV), EMBEDDED), client);
    }

    /** These settings under another topic prefix (the same cluster, registry and client properties). */
    public KafkaSettings withTopicPrefix(String prefix) {
        return new KafkaSettings(bootstrapServers, prefix, registrySpec, client);
    }

    /** Settings for a broker with the embedded registry. */
    public static KafkaSettings embedded(String bootstrapServers, String topicPrefix) {
        return new KafkaSettings(bootstrapServers, topicPrefix, EMBEDDED);
    }

    private static Set<String> anyClientConfig() {
        Set<String> names = new HashSet<>(ProducerConfig.configNames());
        names.addAll(ConsumerConfig.configNames());
        names.addAll(AdminClientConfig.configNames());
        return Set.copyOf(names);
    }

    private static String orDefault(String value, String fallback) {
        return value == null || value.isBlank() ? fallback : value.strip();
    }

    /** The topic's full name in this deployment. */
    public String topic(Topic<?, ?> topic) {
        return topic.name(topicPrefix);
    }

    public boolean embeddedRegistry() {
        return registrySpec.equals(EMBEDDED);
    }

    /**
     * The consumer group (or Kafka Streams application id) a service's {@code name} stands for in this deployment:
     * the topic prefix followed by the name, so two deployments on one cluster never share a group.
     */
    public String groupId(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("consumer group id must not be blank");
        }
        return topicPrefix + name;
    }

    /**
     * Producer settings: acks from all in-sync replicas and idempotence, so a retry never duplicates a record;
     * the client properties apply between the built-in defaults and those two.
     */
    public Properties producerProps() {
        Properties p = new Properties();
        p.setProperty(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.setProperty(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.setProperty(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(MAX_RECORD_BYTES));
        client.applyTo(p, ProducerConfig.configNames(), ANY_CLIENT_CONFIG);
        p.setProperty(ProducerConfig.ACKS_CONFIG, "all");
        p.setProperty(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        return p;
    }

    /**
     * Consumer settings in group {@link #groupId groupId(name)}: only committed records (read_committed), offsets
     * committed by the service after its work is durable (no auto commit), and a new group starts from the
     * beginning (earliest) so nothing is skipped.
     */
    public Properties consumerProps(String name) {
        String groupId = groupId(name);
        Properties p = groupLessConsumerProps();
        p.setProperty(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        return p;
    }

    /** {@link #consumerProps} without a group, for readers that assign partitions themselves. */
    public Properties groupLessConsumerProps() {
        Properties p = new Properties();
        p.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        client.applyTo(p, ConsumerConfig.configNames(), ANY_CLIENT_CONFIG);
        p.setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.setProperty(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return p;
    }

    /** Admin client settings: the built-in timeouts, then the client properties. */
    public Properties adminProps() {
        Properties p = new Properties();
        p.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.setProperty(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        p.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
        client.applyTo(p, AdminClientConfig.configNames(), ANY_CLIENT_CONFIG);
        return p;
    }

    /**
     * The base of a Kafka Streams app's settings: the bootstrap servers, every client property (Kafka Streams
     * hands them to its producers, consumers and admin client) and {@code application.id} =
     * {@link #groupId groupId(name)}; the app adds its own (processing guarantee, serdes, …).
     */
    public Properties streamsProps(String name) {
        Properties p = new Properties();
        p.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.putAll(client.properties());
        p.setProperty("application.id", groupId(name));
        return p;
    }

    /**
     * The schema registry of these settings, opened on first use and shared with every caller of equal settings
     * until {@link #closeRegistry()}. Opening the embedded one creates its topic and reads it to the end; a REST
     * one takes its credentials from the process environment ({@link ConfluentRestSchemaRegistry#fromEnv}).
     */
    public SchemaRegistry registry() {
        return REGISTRIES.computeIfAbsent(this, s -> s.embeddedRegistry()
                ? KafkaTopicSchemaRegistry.open(s)
                : ConfluentRestSchemaRegistry.fromEnv(URI.create(s.registrySpec()), System.getenv()));
    }

    /** Closes the shared registry of these settings, if open; the next {@link #registry()} opens a fresh one. */
    public void closeRegistry() {
        SchemaRegistry r = REGISTRIES.remove(this);
        if (r != null) {
            r.close();
        }
    }

    /** The value serde of an event topic, in the registry wire format, backed by {@link #registry()}. */
    public <V extends SpecificRecord> RegistryAvroSerde<V> valueSerde(Topic<String, V> topic) {
        return new RegistryAvroSerde<>(registry(), topic.valueType());
    }

    /** Keys are plain UTF-8 strings, not registry-framed. */
    public Serde<String> keySerde() {
        return Serdes.String();
    }
}
