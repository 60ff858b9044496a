package io.salsa.soup.builder;

import io.micrometer.core.instrument.Counter;
import io.salsa.events.DeadLetter;
import io.salsa.events.SftModelLanded;
import io.salsa.events.SoupManifest;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.kafka.BrokerWait;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.runtime.metrics.SalsaMetrics;
import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.Service;
import io.salsa.schemas.DeadLetters;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The soup builder service: reads {@code sft-models} from the beginning (the topic is the source of truth for
 * which models exist), keeps every recipe's soup current on the compacted {@code soup} topic, and dead-letters
 * members it refuses. At start it preloads the models already landed and evaluates each recipe once, so a restart
 * publishes nothing unless a member set really changed while it was down.
 *
 * <p>As a {@link Service} it stops between polls, never in the middle of building or publishing a soup; it is up
 * once it has read the models already landed and follows the topic. Nothing touches Kafka before {@link #run()},
 * which first waits for a broker ({@link BrokerWait}), so it may start before Kafka does.
 */
public final class SoupBuilderApp implements Service {

    private static final Logger LOG = LoggerFactory.getLogger(SoupBuilderApp.class);
    static final String SERVICE = "soup-builder";

    private final KafkaSettings kafka;
    private final SoupBuilder builder;
    private final BrokerWait brokerWait;
    private final String sftTopic;
    // made by run() once a broker answers; close() releases whatever was made
    private volatile KafkaConsumer<String, byte[]> consumer;
    private volatile KafkaProducer<String, byte[]> producer;
    private RegistryAvroSerde<SftModelLanded> sftSerde;
    private volatile List<SalsaMetrics.Binding> clientMetrics = List.of();
    private final Map<String, ConsumerRecord<String, byte[]>> lastRecordOf = new HashMap<>();
    private volatile boolean stopRequested;
    private volatile boolean following;
    private boolean closed;
    private final Counter published = Counter.builder("salsa.soup.published")
            .description("Soups built and published to the soup topic.").register(SalsaMetrics.registry());
    private final Counter refused = Counter.builder("salsa.soup.refused")
            .description("SFT models refused by a recipe (dead-lettered; the last good soup stays).")
            .register(SalsaMetrics.registry());
    private volatile Throwable failure;

    public SoupBuilderApp(KafkaSettings kafka, List<SoupRecipe> recipes, ModelFolderStore store, Path workDir) {
        this.kafka = kafka;
        this.builder = new SoupBuilder(recipes, store, workDir);
        this.brokerWait = new BrokerWait(kafka, SERVICE);
        this.sftTopic = kafka.topic(Topics.SFT_MODELS);
    }

    /** Waits for a broker, then ensures the topics and makes the clients; false when a stop came first. */
    private boolean connect() {
        if (!brokerWait.await(() -> stopRequested)) {
            return false;
        }
        TopicAdmin.ensureTopics(kafka, List.of(Topics.SFT_MODELS, Topics.SOUP, Topics.DEAD_LETTERS));
        sftSerde = kafka.valueSerde(Topics.SFT_MODELS);
        synchronized (this) {
            if (closed) {
                return false;
            }
            consumer = KafkaLog.rawConsumer(kafka);
            producer = new KafkaProducer<>(kafka.producerProps(), new StringSerializer(), new ByteArraySerializer());
            clientMetrics = List.of(SalsaMetrics.monitor(consumer), SalsaMetrics.monitor(producer));
        }
        return true;
    }

    @Override
    public String name() {
        return SERVICE;
    }

    /** Restores the current soups, preloads the landed models, evaluates every recipe; then follows new models. */
    @Override
    public void run() throws IOException {
        run(() -> false);
    }

    /** As {@link #run()}, also returning once {@code alsoStopWhen} holds (checked between polls; tests). */
    void run(BooleanSupplier alsoStopWhen) throws IOException {
        try {
            follow(alsoStopWhen);
        } catch (IOException | RuntimeException | Error e) {
            failure = e;
            throw e;
        }
    }

    private void follow(BooleanSupplier alsoStopWhen) throws IOException {
        if (!connect()) {
            return;
        }
        restoreSoups();
        List<TopicPartition> parts = KafkaLog.partitions(consumer, sftTopic);
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
        Map<TopicPartition, Long> end = consumer.endOffsets(parts);
        while (!KafkaLog.reached(consumer, end)) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                SftModelLanded m = decode(r);
                if (m != null) {
                    builder.preload(m);
                }
            }
        }
        following = true; // caught up: what is evaluated next is what the topic holds
        handle(builder.evaluateAll());
        LOG.info("soup builder following {} for new SFT models", sftTopic);
        while (!stopRequested && !alsoStopWhen.getAsBoolean()) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                SftModelLanded m = decode(r);
                if (m != null) {
                    LOG.info("SFT model {} landed (base {})", m.getModelId(), m.getBaseModel());
                    handle(builder.onModelLanded(m));
                }
            }
        }
    }

    /** The builder's decisions so far (tests). */
    SoupBuilder builder() {
        return builder;
    }

    private void restoreSoups() {
        String topic = kafka.topic(Topics.SOUP);
        RegistryAvroSerde<SoupManifest> serde = kafka.valueSerde(Topics.SOUP);
        for (ConsumerRecord<String, byte[]> r : KafkaLog.readAll(kafka, topic)) {
            if (r.value() != null) {
                try {
                    builder.restoreCurrent(serde.deserialize(topic, r.value()));
                } catch (RuntimeException e) {
                    LOG.warn("ignoring undecodable soup record {}-{}@{}", topic, r.partition(), r.offset());
                }
            }
        }
    }

    private SftModelLanded decode(ConsumerRecord<String, byte[]> r) {
        try {
            SftModelLanded m = sftSerde.deserialize(r.topic(), r.value());
            lastRecordOf.put(m.getModelId(), r);
            return m;
        } catch (RuntimeException e) {
            deadLetter(r, e);
            return null;
        }
    }

    private void handle(List<SoupBuilder.Outcome> outcomes) {
        for (SoupBuilder.Outcome o : outcomes) {
            if (o instanceof SoupBuilder.Published p) {
                SoupManifest m = p.manifest();
                String topic = kafka.topic(Topics.SOUP);
                send(new ProducerRecord<>(topic, m.getRecipe(), kafka.valueSerde(Topics.SOUP).serialize(topic, m)));
                published.increment();
                LOG.info("published soup {} version {} ({} members, {})", m.getRecipe(), m.getVersion(),
                        m.getMembers().size(), m.getBlob().getUri());
            } else if (o instanceof SoupBuilder.Refused r) {
                refused.increment();
                LOG.warn("recipe {}: refused SFT model {}: {}; the last good soup stays", r.recipe(), r.modelId(),
                        r.error().getMessage());
                ConsumerRecord<String, byte[]> raw = lastRecordOf.get(r.modelId());
                if (raw != null) {
                    deadLetter(raw, r.error());
                }
            } else if (o instanceof SoupBuilder.Unchanged u) {
                LOG.info("recipe {}: {}", u.recipe(), u.why());
            }
        }
    }

    private void deadLetter(ConsumerRecord<String, byte[]> r, Throwable error) {
        byte[] key = r.key() == null ? null : r.key().getBytes(StandardCharsets.UTF_8);
        DeadLetter letter = DeadLetters.of(r.topic(), r.partition(), r.offset(), key, r.value(), error, SERVICE,
                System.currentTimeMillis());
        ProducerRecord<String, DeadLetter> rec = DeadLetters.toRecord(kafka, letter);
        send(new ProducerRecord<>(rec.topic(), rec.key(), kafka.valueSerde(Topics.DEAD_LETTERS)
                .serialize(rec.topic(), letter)));
    }

    private void send(ProducerRecord<String, byte[]> record) {
        try {
            producer.send(record).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted writing to " + record.topic(), e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("could not write to " + record.topic() + ": " + e.getCause(), e.getCause());
        }
    }

    /** Up while following {@code sft-models}; starting while it reads what already landed; down once failed or stopped. */
    @Override
    public Health health() {
        Throwable t = failure;
        if (t != null) {
            return Health.down("failed: " + t.getMessage());
        }
        if (stopRequested) {
            return Health.down("stopped");
        }
        Health waiting = brokerWait.waiting();
        if (waiting != null) {
            return waiting;
        }
        return following ? Health.up("following " + sftTopic) : Health.starting("reading the landed SFT models");
    }

    /** Ends {@link #run()} after the current poll and whatever soup it is building. */
    @Override
    public void stop() {
        stopRequested = true;
    }

    /** Closes the clients; called after {@link #run()} returned. */
    @Override
    public synchronized void close() {
        stop();
        closed = true;
        clientMetrics.forEach(SalsaMetrics.Binding::close);
        SalsaMetrics.registry().remove(published);
        SalsaMetrics.registry().remove(refused);
        if (consumer != null) {
            consumer.close(Duration.ofSeconds(5));
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
    }
}
