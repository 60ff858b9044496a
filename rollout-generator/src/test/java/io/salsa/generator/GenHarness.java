package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.fail;

import io.salsa.events.DeadLetter;
import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topic;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import io.salsa.testkit.Conditions;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Test plumbing around one generator deployment: its own topic prefix on the shared broker. */
final class GenHarness implements AutoCloseable {

    private static final AtomicInteger COUNTER = new AtomicInteger();

    final KafkaSettings settings;
    final Path stateDir;
    /** Shared by the polling helpers; a JVM-lifetime client per harness is fine in tests. */
    private final Admin admin;

    GenHarness(TestKafka kafka, String name, Path stateDir) {
        this(KafkaSettings.embedded(kafka.bootstrapServers(), uniquePrefix(name)), stateDir);
    }

    /** A harness on a cluster reached with {@code settings} (a secured one, say). */
    GenHarness(KafkaSettings settings, Path stateDir) {
        this.settings = settings;
        this.stateDir = stateDir;
        this.admin = Admin.create(settings.adminProps());
        TopicAdmin.ensureAll(settings);
    }

    /** A topic prefix no other harness of this test run uses. */
    static String uniquePrefix(String name) {
        return name + "-" + ProcessHandle.current().pid() + "-" + COUNTER.incrementAndGet() + ".";
    }

    /** Config from {@code SALSA_GENERATOR_*}-style overrides on top of small test defaults. */
    GeneratorConfig config(String... kv) {
        return config(stateDir, kv);
    }

    /** {@link #config(String...)} for a generator whose state is in {@code stateDir}, made before any harness. */
    static GeneratorConfig config(Path stateDir, String... kv) {
        Map<String, String> env = new HashMap<>();
        env.put("SALSA_GENERATOR_STATE_DIR", stateDir.toString());
        env.put("SALSA_GENERATOR_GROUP", "generators"); // KafkaSettings prefixes it
        env.put("SALSA_GENERATOR_MAX_NEW_TOKENS", "8");
        env.put("SALSA_GENERATOR_MAX_STALENESS", "-1");
        env.put("SALSA_GENERATOR_INITIAL_WEIGHTS", stateDir.resolve("initial-weights").toString());
        for (int i = 0; i < kv.length; i += 2) {
            env.put(kv[i], kv[i + 1]);
        }
        return GeneratorConfig.fromEnv(env);
    }

    static Prompt prompt(String id, String text, List<Integer> ids) {
        return Prompt.newBuilder().setPromptId(id).setText(text).setTokenIds(ids).setCreatedAtMs(0).build();
    }

    static List<Prompt> prompts(int count, String idPrefix) {
        List<Prompt> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(prompt(idPrefix + i, "question number " + i + " about thing " + (i % 5), List.of()));
        }
        return out;
    }

    <V extends SpecificRecord> void publish(Topic<String, V> topic, String key, V value) {
        publish(topic, List.of(Map.entry(key, value)));
    }

    <V extends SpecificRecord> void publish(Topic<String, V> topic, List<Map.Entry<String, V>> records) {
        RegistryAvroSerde<V> serde = settings.valueSerde(topic);
        String name = settings.topic(topic);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(settings.producerProps(), new StringSerializer(),
                new ByteArraySerializer())) {
            for (Map.Entry<String, V> r : records) {
                p.send(new ProducerRecord<>(name, r.getKey(), serde.serialize(name, r.getValue())));
            }
            p.flush();
        }
    }

    void publishPrompts(List<Prompt> prompts) {
        publish(Topics.PROMPTS, prompts.stream().map(p -> Map.entry(p.getPromptId(), p)).toList());
    }

    void publishRaw(Topic<?, ?> topic, String key, byte[] value) {
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(settings.producerProps(), new StringSerializer(),
                new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(settings.topic(topic), key, value));
            p.flush();
        }
    }

    /** Every record of a topic from the beginning to its current end. */
    <V extends SpecificRecord> List<V> readAll(Topic<String, V> topic) {
        return KafkaLog.readValues(settings, topic, Duration.ofSeconds(60), (r, e) -> {
            throw e;
        });
    }

    /** Waits with blocking polls (at most {@code timeout}) until {@code topic} holds {@code n} records; fails if not. */
    void awaitRecords(Topic<?, ?> topic, int n, Duration timeout) {
        String name = settings.topic(topic);
        try (KafkaLog log = KafkaLog.open(settings, name, KafkaLog.ALL)) {
            long deadline = System.nanoTime() + timeout.toNanos();
            int seen = 0;
            while (seen < n) {
                if (System.nanoTime() > deadline) {
                    fail("timed out after " + timeout.toSeconds() + " s with " + seen + " of " + n + " records on "
                            + name);
                }
                seen += log.poll(Duration.ofMillis(500)).size();
            }
        }
    }

    List<Rollout> rollouts() {
        return readAll(Topics.ROLLOUTS);
    }

    List<DeadLetter> deadLetters() {
        return readAll(Topics.DEAD_LETTERS);
    }

    /**
     * Records a read_committed reader sees on a topic (not its end offsets: the generator writes in transactions, so
     * commit markers take offsets and aborted records stay in the log).
     */
    long count(Topic<?, ?> topic) {
        return KafkaLog.readAll(settings, settings.topic(topic)).size();
    }

    /** The sum of a topic's end offsets: records, aborted records and commit markers (what a lag is counted in). */
    long endOffsetSum(Topic<?, ?> topic) {
        return KafkaLog.endOffsetSum(settings, settings.topic(topic));
    }

    /** Every record of a topic the log holds, aborted transactions' records included (read_uncommitted). */
    List<ConsumerRecord<String, byte[]>> readUncommitted(Topic<?, ?> topic) {
        String name = settings.topic(topic);
        Properties p = settings.groupLessConsumerProps();
        p.setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> parts = KafkaLog.partitions(c, name);
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!KafkaLog.reached(c, end)) {
                if (System.nanoTime() > deadline) {
                    fail("timed out reading " + name + " uncommitted");
                }
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
            return out;
        }
    }

    /** Committed offsets of a service's group (named as the service names it; the deployment's prefix added). */
    Map<TopicPartition, OffsetAndMetadata> committed(String group) {
        try {
            return admin.listConsumerGroupOffsets(settings.groupId(group)).partitionsToOffsetAndMetadata().get();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Commits the offsets of service group {@code group} (prefix added) at the end of the rollouts topic, as if a learner consumed all of it; returns the sum. */
    long commitToEnd(String group) throws Exception {
        String topic = settings.topic(Topics.ROLLOUTS);
        Map<TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new HashMap<>();
        admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().forEach(p -> latest.put(
                new TopicPartition(topic, p.partition()), org.apache.kafka.clients.admin.OffsetSpec.latest()));
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        admin.listOffsets(latest).all().get().forEach((tp, info) -> offsets.put(tp, new OffsetAndMetadata(info.offset())));
        admin.alterConsumerGroupOffsets(settings.groupId(group), offsets).all().get();
        return offsets.values().stream().mapToLong(OffsetAndMetadata::offset).sum();
    }

    @Override
    public void close() {
        admin.close();
    }

    /** A generator running on its own thread. */
    static final class Running implements AutoCloseable {
        final GeneratorApp app;
        final Thread thread;
        final AtomicReference<Throwable> error = new AtomicReference<>();

        Running(GeneratorApp app) {
            this.app = app;
            this.thread = new Thread(() -> {
                try {
                    app.run();
                } catch (Throwable t) {
                    error.set(t);
                }
            }, "test-generator");
            thread.start();
        }

        @Override
        public void close() throws Exception {
            app.close();
            thread.join(60_000);
            if (error.get() != null) {
                throw new AssertionError("generator failed", error.get());
            }
        }
    }

    Running start(GeneratorConfig config, SamplerFactory samplers, WeightFetcher fetcher) {
        return new Running(new GeneratorApp(settings, config, samplers, fetcher));
    }

    static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        Conditions.await(what, timeout, condition);
    }
}
