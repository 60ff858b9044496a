package io.salsa.learner;

import io.salsa.events.BatchManifest;
import io.salsa.events.DeadLetter;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.SftModelLanded;
import io.salsa.events.SoupManifest;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.runtime.metrics.SalsaMetrics;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topic;
import io.salsa.schemas.Topics;
import io.salsa.schemas.registry.KafkaTopicSchemaRegistry;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.function.BooleanSupplier;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The learner's side of the topics besides the rollouts it trains on: what it writes (checkpoints, metrics,
 * manifests, dead letters; each send waits for the broker's ack, so a step's records are durable before its
 * offsets are committed) and what a start, restart or replay looks up (the run's newest checkpoint, its
 * manifests, the first soup, an SFT model).
 */
final class LearnerTopics implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LearnerTopics.class);
    static final String SERVICE = "ppo-learner";
    static final Duration WAIT_LOG_EVERY = Duration.ofSeconds(10);
    /**
     * How long one send keeps retrying while the broker is away ({@code delivery.timeout.ms}, unless the client
     * properties set it): Kafka's 2-minute default made the learner exit during a slow broker restart (the soak's
     * chaos run, load ~55), although it has nothing to do but wait. Retries are the idempotent producer's own, so
     * a long wait never duplicates a record. The embedded schema registry waits as long by default (and follows
     * the same setting), so the first checkpoint's schema registration never gives up before its write would.
     */
    static final Duration SEND_TIMEOUT = KafkaTopicSchemaRegistry.DEFAULT_WAIT;

    private final KafkaSettings kafka;
    private final KafkaProducer<String, byte[]> producer;
    private final SalsaMetrics.Binding producerMetrics;

    LearnerTopics(KafkaSettings kafka) {
        this.kafka = kafka;
        this.producer = new KafkaProducer<>(producerProps(kafka), new StringSerializer(), new ByteArraySerializer());
        this.producerMetrics = SalsaMetrics.monitor(producer);
    }

    /** The services' producer settings with the learner's {@link #SEND_TIMEOUT} where the client sets none. */
    static Properties producerProps(KafkaSettings kafka) {
        Properties p = kafka.producerProps();
        p.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Long.toString(SEND_TIMEOUT.toMillis()));
        return p;
    }

    /** Writes {@code value} under {@code key} and waits until the broker has it. */
    <V extends SpecificRecord> void send(Topic<String, V> topic, String key, V value) {
        String name = kafka.topic(topic);
        RegistryAvroSerde<V> serde = kafka.valueSerde(topic);
        try {
            producer.send(new ProducerRecord<>(name, key, serde.serialize(name, value))).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing to " + name, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("could not write to " + name + ": " + e.getCause(), e.getCause());
        }
    }

    /** Dead-letters a record the batch assembler refused, keyed by the run. */
    void deadLetter(String runId, BatchAssembler.Rejected rejected) {
        ConsumedRollout r = rejected.record();
        DeadLetter letter = DeadLetter.newBuilder()
                .setSourceTopic(r.topic()).setPartition(r.partition()).setOffset(r.offset())
                .setKey(null).setValue(null)
                .setError(rejected.reason().name().toLowerCase() + ": " + rejected.detail())
                .setErrorClass(rejected.reason().name()).setService(SERVICE)
                .setFailedAtMs(System.currentTimeMillis()).build();
        send(Topics.DEAD_LETTERS, runId, letter);
        LOG.warn("run {}: dead-lettered {}-{}@{}: {}", runId, r.topic(), r.partition(), r.offset(), rejected.detail());
    }

    /** The newest checkpoint of {@code runId} on the policy topic, or null. */
    static PolicyCheckpoint latestCheckpoint(KafkaSettings kafka, String runId) {
        String topic = kafka.topic(Topics.POLICY);
        RegistryAvroSerde<PolicyCheckpoint> serde = kafka.valueSerde(Topics.POLICY);
        PolicyCheckpoint latest = null;
        for (ConsumerRecord<String, byte[]> r : KafkaLog.readAll(kafka, topic)) {
            if (runId.equals(r.key()) && r.value() != null) {
                PolicyCheckpoint cp = serde.deserialize(topic, r.value());
                if (latest == null || cp.getVersion() >= latest.getVersion()) {
                    latest = cp;
                }
            }
        }
        return latest;
    }

    /** Every manifest of {@code runId}, ordered by step; a step written twice keeps its last manifest. */
    static List<BatchManifest> manifests(KafkaSettings kafka, String runId) {
        String topic = kafka.topic(Topics.LEARNER_BATCHES);
        RegistryAvroSerde<BatchManifest> serde = kafka.valueSerde(Topics.LEARNER_BATCHES);
        TreeMap<Long, BatchManifest> byStep = new TreeMap<>();
        for (ConsumerRecord<String, byte[]> r : KafkaLog.readAll(kafka, topic)) {
            if (runId.equals(r.key()) && r.value() != null) {
                BatchManifest m = serde.deserialize(topic, r.value());
                byStep.put(m.getStep(), m);
            }
        }
        return new ArrayList<>(byStep.values());
    }

    /** The newest soup of {@code recipe}, waiting until there is one; null when {@code stop} says so first. */
    static SoupManifest waitForSoup(KafkaSettings kafka, String recipe, BooleanSupplier stop) {
        long lastLog = 0;
        while (!stop.getAsBoolean()) {
            SoupManifest soup = KafkaLog.latestSoup(kafka, recipe);
            if (soup != null) {
                return soup;
            }
            if (System.currentTimeMillis() - lastLog > WAIT_LOG_EVERY.toMillis()) {
                LOG.info("waiting for the first soup of recipe '{}' on {}", recipe, kafka.topic(Topics.SOUP));
                lastLog = System.currentTimeMillis();
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    /** The newest announcement of SFT model {@code modelId}, or null. */
    static SftModelLanded latestSft(KafkaSettings kafka, String modelId) {
        String topic = kafka.topic(Topics.SFT_MODELS);
        RegistryAvroSerde<SftModelLanded> serde = kafka.valueSerde(Topics.SFT_MODELS);
        SftModelLanded latest = null;
        for (ConsumerRecord<String, byte[]> r : KafkaLog.readAll(kafka, topic)) {
            if (modelId.equals(r.key()) && r.value() != null) {
                latest = serde.deserialize(topic, r.value());
            }
        }
        return latest;
    }

    @Override
    public void close() {
        producerMetrics.close();
        producer.close(Duration.ofSeconds(5));
    }
}
