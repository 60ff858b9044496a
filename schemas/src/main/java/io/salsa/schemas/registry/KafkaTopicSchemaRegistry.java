package io.salsa.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.schemas.KafkaErrors;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Supplier;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded schema registry: schemas live durably in a single-partition compacted Kafka topic (as Confluent's
 * registry keeps them in {@code _schemas}), so ids survive restarts and old records stay decodable on replay,
 * with no registry server to run.
 *
 * <p>Every instance folds the topic, read to its end, into the same state. New ids are assigned under mutual
 * exclusion built from Kafka's transactional fencing: a registrant opens a producer with the one shared
 * {@code transactional.id}, which fences (aborts and disables) any other registrant's producer; only then it
 * reads the topic to its end (read_committed), picks the next id and version, and commits one record. If another
 * registrant started in between, this commit fails as fenced and it retries from the start, so two committed
 * records never claim one id. Every record has its own key, so compaction never drops or reorders a registration.
 * Registering an already registered schema takes no lock: it is answered from the folded state.
 *
 * <p>While the broker is away (a restart, an outage) registrations and lookups wait for it as long as the
 * service's own writes would ({@link #waitOf}): each attempt is bounded by a call timeout (30 s, or a quarter of a
 * shorter wait), failed attempts are retried with backoff and logged, and only when the wait is used up does the
 * call fail, naming the topic and the wait. A registration retried after a timeout whose record did land finds that
 * record when it reads the topic again (the next writer's {@code initTransactions} first completes or aborts the
 * transaction the lost one left open) and returns its id, so a retry never adds a second id or version. An
 * incompatible schema or a refused login fails at once.
 */
public final class KafkaTopicSchemaRegistry implements SchemaRegistry, SchemaCatalog {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaTopicSchemaRegistry.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final int MAX_ATTEMPTS = 20;
    /**
     * How long a registration or lookup waits for an absent broker when the client properties set no
     * {@code delivery.timeout.ms}: the learner's send timeout, the longest any service's writes wait.
     */
    public static final Duration DEFAULT_WAIT = Duration.ofMinutes(10);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

    private final KafkaSettings settings;
    private final String bootstrapServers;
    private final String topic;
    private final TopicPartition partition;
    private final SchemaStore store = new SchemaStore();
    private final KafkaConsumer<String, String> reader;
    private final Duration wait;
    private final Duration callTimeout;

    private KafkaTopicSchemaRegistry(KafkaSettings settings, String topic, Duration wait, Duration callTimeout) {
        this.settings = settings;
        this.wait = wait;
        this.callTimeout = callTimeout;
        this.bootstrapServers = settings.bootstrapServers();
        this.topic = topic;
        this.partition = new TopicPartition(topic, 0);
        Properties p = settings.groupLessConsumerProps();
        p.setProperty(ConsumerConfig.CLIENT_ID_CONFIG, "salsa-schema-registry-reader");
        this.reader = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
        reader.assign(List.of(partition));
        reader.seekToBeginning(List.of(partition));
    }

    /**
     * Opens the registry of a deployment: creates its topic ({@code <prefix>_salsa_schemas}) if missing and reads
     * it to the end; its calls wait {@link #waitOf waitOf(settings)} for an absent broker.
     */
    public static KafkaTopicSchemaRegistry open(KafkaSettings settings) {
        return open(settings, waitOf(settings));
    }

    /**
     * Opens the registry as {@link #open(KafkaSettings)}, its registrations and lookups waiting up to {@code wait}
     * for an absent broker before they fail.
     */
    public static KafkaTopicSchemaRegistry open(KafkaSettings settings, Duration wait) {
        if (wait == null || wait.isNegative() || wait.isZero()) {
            throw new IllegalArgumentException("the schema registry's wait for an absent broker must be positive, got "
                    + wait);
        }
        // several attempts fit in the wait, so a broker back early is noticed early and progress gets logged
        Duration quarter = wait.dividedBy(4);
        return open(settings, wait, quarter.compareTo(TIMEOUT) < 0 ? quarter : TIMEOUT);
    }

    /** As {@link #open(KafkaSettings, Duration)} with each attempt bounded by {@code callTimeout} (tests). */
    static KafkaTopicSchemaRegistry open(KafkaSettings settings, Duration wait, Duration callTimeout) {
        KafkaTopicSchemaRegistry registry =
                new KafkaTopicSchemaRegistry(settings, settings.topic(Topics.SCHEMAS), wait, callTimeout);
        try {
            registry.patiently("open the registry", () -> {
                try {
                    TopicAdmin.ensureTopics(settings, List.of(Topics.SCHEMAS));
                } catch (IllegalStateException e) {
                    if (e.getCause() instanceof RetriableException away) {
                        throw away; // the broker is not answering: wait for it like any other call
                    }
                    throw e;
                }
                registry.catchUp();
                return null;
            });
        } catch (RuntimeException e) {
            registry.close();
            throw e;
        }
        return registry;
    }

    /**
     * How long the registry of {@code settings} waits for an absent broker: the deployment's producer
     * {@code delivery.timeout.ms} when the client properties set it ({@code SALSA_KAFKA_DELIVERY_TIMEOUT_MS}), so
     * schema registration gives up exactly when the service's writes would; otherwise {@link #DEFAULT_WAIT}.
     */
    public static Duration waitOf(KafkaSettings settings) {
        String configured = settings.client().properties().get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG);
        if (configured == null || configured.isBlank()) {
            return DEFAULT_WAIT;
        }
        try {
            long ms = Long.parseLong(configured.strip());
            if (ms > 0) {
                return Duration.ofMillis(ms);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG + "='" + configured + "' (from "
                + settings.client().sourceOf(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG)
                + ") must be a positive number of milliseconds");
    }

    /** The topic the schemas are kept in. */
    public String topic() {
        return topic;
    }

    /** How long a registration or lookup waits for an absent broker before it fails. */
    public Duration brokerWait() {
        return wait;
    }

    @Override
    public synchronized int register(String subject, Schema schema) {
        return patiently("register a schema under " + subject, () -> registerOnce(subject, schema));
    }

    private int registerOnce(String subject, Schema schema) {
        catchUp();
        Optional<RegisteredSchema> existing = checkedLookup(subject, schema);
        if (existing.isPresent()) {
            return existing.get().id();
        }
        KafkaException last = null;
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            KafkaProducer<String, String> writer = transactionalWriter();
            try {
                writer.initTransactions();
                // the log is stable from here until someone fences us: read it all, then decide
                catchUp();
                existing = checkedLookup(subject, schema);
                if (existing.isPresent()) {
                    return existing.get().id();
                }
                RegisteredSchema next = store.next(subject, schema);
                writer.beginTransaction();
                writer.send(new ProducerRecord<>(topic, key(next), toJson(next)));
                writer.commitTransaction();
            } catch (RetriableException e) {
                // the broker is away, not a rival registrant: patiently() waits for it and starts over
                throw e;
            } catch (AuthenticationException | AuthorizationException e) {
                // no other registrant can be the cause: retrying would only hide the refusal
                throw accessDenied("cannot register a schema under " + subject, e);
            } catch (KafkaException e) {
                if (e.getCause() instanceof RetriableException away) {
                    throw away; // a transaction that failed because the broker went away
                }
                // fenced by a concurrent registrant (or a transaction it aborted): start over
                last = e;
                LOG.info("registration under {} lost a race with another registrant (attempt {}): {}", subject,
                        attempt, e.toString());
                sleepQuietly(attempt);
            } finally {
                // a plain close() would wait without end for a commit the absent broker never answers; the next
                // writer's initTransactions completes or aborts whatever this one left open
                writer.close(Duration.ofSeconds(1));
            }
            catchUp();
            existing = store.find(subject, schema);
            if (existing.isPresent()) {
                return existing.get().id();
            }
        }
        throw new SchemaRegistryException("could not register a schema under " + subject + " in " + topic
                + " after " + MAX_ATTEMPTS + " attempts", last);
    }

    private Optional<RegisteredSchema> checkedLookup(String subject, Schema schema) {
        Optional<RegisteredSchema> existing = store.find(subject, schema);
        if (existing.isEmpty()) {
            List<String> problems = store.incompatibilities(subject, schema);
            if (!problems.isEmpty()) {
                throw new IncompatibleSchemaException(subject, String.join("; ", problems));
            }
        }
        return existing;
    }

    @Override
    public Schema getById(int id) {
        Optional<Schema> known = store.byId(id);
        if (known.isPresent()) {
            return known.get();
        }
        synchronized (this) {
            // registered by another process since we last looked?
            patiently("look up schema id " + id, () -> {
                catchUp();
                return null;
            });
        }
        return store.byId(id).orElseThrow(() -> new SchemaNotFoundException(id, "the registry topic " + topic));
    }

    @Override
    public synchronized Optional<RegisteredSchema> latest(String subject) {
        awaitCaughtUp("read the registry topic");
        return store.latest(subject);
    }

    /** Every subject registered so far, the topic read to its end first. */
    @Override
    public synchronized List<String> subjects() {
        awaitCaughtUp("read the registry topic");
        return store.subjects();
    }

    /** The subject's versions, the topic read to its end first. */
    @Override
    public synchronized List<RegisteredSchema> versions(String subject) {
        awaitCaughtUp("read the registry topic");
        return store.versions(subject);
    }

    @Override
    public synchronized boolean isCompatible(String subject, Schema schema) {
        awaitCaughtUp("read the registry topic");
        return store.incompatibilities(subject, schema).isEmpty();
    }

    @Override
    public synchronized void close() {
        reader.close(Duration.ofSeconds(5));
    }

    private void awaitCaughtUp(String what) {
        patiently(what, () -> {
            catchUp();
            return null;
        });
    }

    /**
     * Runs {@code action} until it gets through the broker, retrying with backoff while the broker is away
     * (Kafka's retriable errors: timeouts, lost connections, no leader) for up to {@link #wait}; any other failure
     * ends it at once.
     */
    private <T> T patiently(String what, Supplier<T> action) {
        long start = System.nanoTime();
        for (int attempt = 1; ; attempt++) {
            try {
                return action.get();
            } catch (RetriableException e) {
                Duration waited = Duration.ofNanos(System.nanoTime() - start);
                if (waited.compareTo(wait) >= 0) {
                    throw new SchemaRegistryException("cannot " + what + ": the schema registry topic " + topic
                            + " at " + bootstrapServers + " did not answer within the wait of "
                            + seconds(wait) + " (" + attempt + " attempts; the wait follows delivery.timeout.ms of "
                            + "the client properties, SALSA_KAFKA_DELIVERY_TIMEOUT_MS, default "
                            + seconds(DEFAULT_WAIT) + "): " + e.getMessage()
                            + KafkaErrors.timeoutHint(e, settings), e);
                }
                long backoff = Math.min(MAX_BACKOFF.toMillis(), 250L << Math.min(attempt - 1, 5));
                backoff = Math.min(backoff, wait.minus(waited).toMillis() + 1);
                LOG.warn("schema registry unavailable, retrying ({}, waited {} of {}) to {} in {}: {}", attempt,
                        seconds(waited), seconds(wait), what, topic, e + (attempt == 1 ? KafkaErrors.timeoutHint(e, settings) : ""));
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new SchemaRegistryException("interrupted while waiting for the schema registry topic "
                            + topic + " to " + what, ie);
                }
            }
        }
    }

    /**
     * Reads the topic up to its last stable offset, folding every registration into the store; throws Kafka's
     * {@link RetriableException} when the broker does not answer, for {@link #patiently} to retry.
     */
    private void catchUp() {
        try {
            long end = reader.endOffsets(List.of(partition), callTimeout).get(partition);
            long deadline = System.nanoTime() + callTimeout.toNanos();
            while (reader.position(partition, callTimeout) < end) {
                for (ConsumerRecord<String, String> r : reader.poll(Duration.ofMillis(100))) {
                    fold(r);
                }
                if (System.nanoTime() > deadline) {
                    throw new TimeoutException("reading the registry topic " + topic + " to offset " + end
                            + " took longer than " + callTimeout);
                }
            }
        } catch (AuthenticationException | AuthorizationException e) {
            throw accessDenied("cannot read the registry topic " + topic, e);
        } catch (RetriableException e) {
            throw e;
        } catch (KafkaException e) {
            throw new SchemaRegistryException("cannot read the registry topic " + topic + " at "
                    + bootstrapServers + ": " + e.getMessage(), e);
        }
    }

    private void fold(ConsumerRecord<String, String> r) {
        if (r.value() == null) {
            return;
        }
        try {
            JsonNode n = JSON.readTree(r.value());
            RegisteredSchema reg = new RegisteredSchema(n.path("subject").asText(), n.path("version").asInt(),
                    n.path("id").asInt(), new Schema.Parser().parse(n.path("schema").asText()));
            if (!store.apply(reg)) {
                LOG.warn("ignoring registration at {}-{}@{} that contradicts earlier ones: subject {} version {} id {}",
                        r.topic(), r.partition(), r.offset(), reg.subject(), reg.version(), reg.id());
            }
        } catch (java.io.IOException | SchemaParseException | IllegalArgumentException e) {
            LOG.warn("ignoring unreadable registration at {}-{}@{}: {}", r.topic(), r.partition(), r.offset(),
                    e.toString());
        }
    }

    private SchemaRegistryException accessDenied(String what, KafkaException e) {
        String why = KafkaErrors.explain(e, settings, List.of(topic)).orElse(e.getMessage());
        return new SchemaRegistryException(what + ": " + why, e);
    }

    private KafkaProducer<String, String> transactionalWriter() {
        Properties p = settings.producerProps();
        // starts with the deployment's prefix, so a prefixed ACL covers it; unprefixed as it always was
        p.setProperty(ProducerConfig.TRANSACTIONAL_ID_CONFIG, settings.groupId("salsa-schema-registry:" + topic));
        p.setProperty(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "10000");
        p.setProperty(ProducerConfig.MAX_BLOCK_MS_CONFIG, Long.toString(callTimeout.toMillis()));
        p.setProperty(ProducerConfig.CLIENT_ID_CONFIG, "salsa-schema-registry-writer");
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }

    /**
     * Unique per record, so compaction never removes a record and the fold stays the same forever, even around a
     * record the fold refused (a refused record sharing a key with an accepted one could otherwise replace it).
     */
    private static String key(RegisteredSchema r) {
        return "schema/" + r.subject() + "/" + r.version() + "/" + r.id() + "/" + UUID.randomUUID();
    }

    private static String toJson(RegisteredSchema r) {
        ObjectNode n = JSON.createObjectNode();
        n.put("subject", r.subject());
        n.put("version", r.version());
        n.put("id", r.id());
        n.put("schema", r.schema().toString());
        return n.toString();
    }

    /** {@code 2.5 s}, {@code 600 s}: a duration as an operator reads it in a log line. */
    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s"
                : String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
    }

    /** Exponential backoff with full jitter, so registrants that fence each other stop colliding. */
    private static void sleepQuietly(int attempt) {
        long ceiling = Math.min(2000L, 25L << Math.min(attempt, 7));
        try {
            Thread.sleep(java.util.concurrent.ThreadLocalRandom.current().nextLong(ceiling / 4, ceiling + 1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SchemaRegistryException("interrupted while registering a schema", e);
        }
    }
}
