package io.salsa.soup.builder;

import io.salsa.runtime.blob.ModelFolderStore;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.events.BlobRef;
import io.salsa.events.DeadLetter;
import io.salsa.events.SftModelKind;
import io.salsa.events.SftModelLanded;
import io.salsa.events.SoupManifest;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.safetensors.Checkpoint;
import io.salsa.model.soup.LoraSoups;
import io.salsa.runtime.blob.LocalBlobStore;
import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.ServiceRunner;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topic;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.testkit.Conditions;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.LateKafka;
import io.salsa.testkit.Probes;
import io.salsa.testkit.TestKafka;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The soup builder service against the real broker: publish, no-op on the same set, dead letters, restart. */
@ExtendWith(KafkaExtension.class)
class SoupBuilderAppTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final GptConfig TINY = GptConfig.of(1, 2, 16, 32, 16, 0, 1);

    /** Kafka under {@code prefix} with the soup builder's topics. */
    private static KafkaSettings topics(TestKafka broker, String prefix) {
        KafkaSettings kafka = KafkaSettings.embedded(broker.bootstrapServers(), prefix);
        TopicAdmin.ensureTopics(kafka, List.of(Topics.SFT_MODELS, Topics.SOUP, Topics.DEAD_LETTERS));
        return kafka;
    }

    /** A model-folder store over a local blob store in {@code tmp}. */
    private static ModelFolderStore store(Path tmp) throws IOException {
        return new ModelFolderStore(new LocalBlobStore(tmp.resolve("store")), tmp.resolve("cache"));
    }

    @Test
    void shouldPublishSoupsDeadLetterBadMembersAndStayQuietAfterRestart(TestKafka broker, @TempDir Path tmp)
            throws Exception {
        KafkaSettings kafka = topics(broker, "soupapp.");
        ModelFolderStore store = store(tmp);
        List<SoupRecipe> recipes = List.of(SoupRecipe.parse("name=pair,base=tiny,k=2"));
        BlobRef a = store.putFolder(model(tmp.resolve("a"), 1), "sft/a");
        BlobRef b = store.putFolder(model(tmp.resolve("b"), 2), "sft/b");
        land(kafka, "a", a, 1);
        land(kafka, "b", b, 2);

        runFor(kafka, recipes, store, tmp, () -> read(kafka, Topics.SOUP).size() >= 1);
        List<SoupManifest> soups = read(kafka, Topics.SOUP);
        assertEquals(1, soups.size());
        assertEquals(1, soups.get(0).getVersion());

        // the same model again is a no-op; a model whose blob fails its checksum is dead-lettered
        land(kafka, "b", b, 2);
        BlobRef c = store.putFolder(model(tmp.resolve("c"), 3), "sft/c");
        land(kafka, "c", new BlobRef(c.getUri(), "f".repeat(64), c.getSizeBytes()), 3);
        runFor(kafka, recipes, store, tmp, () -> !read(kafka, Topics.DEAD_LETTERS).isEmpty());
        assertEquals(1, read(kafka, Topics.SOUP).size(), "no new soup: same set, then a refused member");
        DeadLetter letter = read(kafka, Topics.DEAD_LETTERS).get(0);
        assertEquals(kafka.topic(Topics.SFT_MODELS), letter.getSourceTopic());
        assertEquals("soup-builder", letter.getService());
        assertTrue(letter.getError().contains("sha") || letter.getError().contains("SHA"), letter.getError());

        // a good new member changes the K=2 set: version 2
        land(kafka, "c", c, 4);
        runFor(kafka, recipes, store, tmp, () -> read(kafka, Topics.SOUP).size() >= 2);
        List<SoupManifest> after = read(kafka, Topics.SOUP);
        assertEquals(2, after.get(after.size() - 1).getVersion());
        assertEquals(List.of("b", "c"), after.get(after.size() - 1).getMembers().stream()
                .map(m -> m.getModelId()).toList());

        // a restart re-reads everything and publishes nothing new
        runFor(kafka, recipes, store, tmp, () -> true);
        assertEquals(2, read(kafka, Topics.SOUP).size());
    }

    @Test
    void shouldSoupPublishedLoraAdaptersOfOneBaseAndDeadLetterOneOfAnotherBase(TestKafka broker, @TempDir Path tmp)
            throws Exception {
        KafkaSettings kafka = topics(broker, "souplora.");
        ModelFolderStore store = store(tmp);
        List<SoupRecipe> recipes = List.of(SoupRecipe.parse("name=lora,base=tiny,k=2"));
        Path base = LoraMembers.base(tmp.resolve("base"), 1);
        Path a1 = LoraMembers.adapter(base, tmp.resolve("a1"), 11);
        Path a2 = LoraMembers.adapter(base, tmp.resolve("a2"), 12);
        SftModelLanded landed = SftPublisher.publish(kafka, store, a1, "a1", "tiny", null, 1L);
        assertEquals(SftModelKind.LORA_ADAPTER, landed.getKind());
        assertEquals(LoraSoups.baseSha256(base), landed.getBaseWeightsSha256());
        SftPublisher.publish(kafka, store, a2, "a2", "tiny", base, 2L);

        runFor(kafka, recipes, store, tmp, () -> read(kafka, Topics.SOUP).size() >= 1);
        List<SoupManifest> soups = read(kafka, Topics.SOUP);
        assertEquals(1, soups.size());
        assertEquals(List.of("a1", "a2"), soups.get(0).getMembers().stream().map(m -> m.getModelId()).toList());
        assertEquals(LoraSoups.build(base, List.of(a1, a2), tmp.resolve("expected")).sha256(),
                Checkpoint.weightsSha256(store.fetchFolder(soups.get(0).getBlob())));

        Path other = LoraMembers.base(tmp.resolve("other"), 2);
        SftPublisher.publish(kafka, store, LoraMembers.adapter(other, tmp.resolve("x"), 13), "x", "tiny", null, 3L);
        runFor(kafka, recipes, store, tmp, () -> !read(kafka, Topics.DEAD_LETTERS).isEmpty());
        DeadLetter letter = read(kafka, Topics.DEAD_LETTERS).get(0);
        assertEquals("x", java.nio.charset.StandardCharsets.UTF_8.decode(letter.getKey()).toString());
        assertTrue(letter.getError().contains("different bases"), letter.getError());
        assertEquals(1, read(kafka, Topics.SOUP).size(), "the last good soup stays");
    }

    @Test
    void shouldGoUpWhenFollowingUnderTheServiceRunnerAndStopCleanly(TestKafka broker, @TempDir Path tmp)
            throws Exception {
        KafkaSettings kafka = topics(broker, "soupsvc.");
        ModelFolderStore store = store(tmp);
        land(kafka, "solo", store.putFolder(model(tmp.resolve("solo"), 5), "sft/solo"), 1);
        SoupBuilderApp app = new SoupBuilderApp(kafka, List.of(SoupRecipe.parse("name=one,base=tiny,k=1")), store,
                tmp.resolve("work"));
        assertEquals("soup-builder", app.name());
        assertEquals(Health.Status.STARTING, app.health().status());

        ServiceRunner.Background running = ServiceRunner.start(app, 0);
        try {
            SoupManifest soup = awaitFirst(kafka, Topics.SOUP, Duration.ofSeconds(60));
            assertEquals("one", soup.getRecipe());
            // the soup is built from what the topic held, after which the service follows it
            Health health = app.health();
            assertTrue(health.isUp(), health.toString());
            running.checkHealthy();
            Probes.assertServing(running.probePort(), "kafka_producer_",
                    List.of("salsa_soup_published_total", "salsa_soup_refused_total"));
        } finally {
            running.close();
        }
        assertFalse(running.running());
        assertNull(running.failure());
        assertEquals(Health.Status.DOWN, app.health().status());
        assertEquals(1, read(kafka, Topics.SOUP).size());
    }

    @Test
    void shouldWaitForABrokerThatIsDownAtStartThenBuildSoups(@TempDir Path tmp) throws Exception {
        try (LateKafka late = LateKafka.reserve()) {
            KafkaSettings kafka = KafkaSettings.embedded(late.bootstrapServers(), "souplate.");
            ModelFolderStore store = new ModelFolderStore(new LocalBlobStore(tmp.resolve("store")),
                    tmp.resolve("cache"));
            BlobRef solo = store.putFolder(model(tmp.resolve("solo"), 7), "sft/solo");
            SoupBuilderApp app = new SoupBuilderApp(kafka, List.of(SoupRecipe.parse("name=one,base=tiny,k=1")),
                    store, tmp.resolve("work"));
            ServiceRunner.Background running = ServiceRunner.start(app, 0);
            try {
                int port = running.probePort();
                late.awaitServiceWaiting(port, WAIT);
                running.checkHealthy();

                late.start();
                Conditions.await("the soup builder following sft-models", WAIT, () -> app.health().isUp());
                land(kafka, "solo", solo, 1);
                assertEquals("one", awaitFirst(kafka, Topics.SOUP, WAIT).getRecipe());
                assertEquals(200, Probes.readyz(port).status());
                running.checkHealthy();
            } finally {
                running.close();
                kafka.closeRegistry();
            }
            assertNull(running.failure());
        }
    }

    /** Waits (blocking polls, at most {@code timeout}) for the first record of {@code topic}. */
    private static <V extends SpecificRecord> V awaitFirst(KafkaSettings kafka, Topic<String, V> topic,
            Duration timeout) {
        String name = kafka.topic(topic);
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(kafka.consumerProps("waiter-" + System.nanoTime()),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(name, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
                    return kafka.valueSerde(topic).deserialize(name, r.value());
                }
            }
        }
        throw new AssertionError("nothing on " + name + " after " + timeout);
    }

    /** Runs the service until {@code done} holds (checked between polls, after start-up) or a minute passed. */
    private static void runFor(KafkaSettings kafka, List<SoupRecipe> recipes, ModelFolderStore store, Path tmp,
            java.util.function.BooleanSupplier done) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        try (SoupBuilderApp app = new SoupBuilderApp(kafka, recipes, store, tmp.resolve("work"))) {
            app.run(() -> done.getAsBoolean() || System.currentTimeMillis() > deadline);
        }
    }

    private static Path model(Path dir, long seed) throws Exception {
        try (GptModel m = GptModel.random(TINY, GptModel.Head.NONE, seed, Device.cpu())) {
            m.save(dir);
        }
        return dir;
    }

    private static void land(KafkaSettings kafka, String id, BlobRef blob, long at) throws Exception {
        SftModelLanded m = SftModelLanded.newBuilder().setModelId(id).setBlob(blob).setBaseModel("tiny").setSeed(at)
                .setDataSha256("d").setLandedAtMs(at).build();
        String topic = kafka.topic(Topics.SFT_MODELS);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(kafka.producerProps(), new StringSerializer(),
                new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(topic, id, kafka.valueSerde(Topics.SFT_MODELS).serialize(topic, m))).get();
        }
    }

    private static <V extends SpecificRecord> List<V> read(KafkaSettings kafka, Topic<String, V> topic) {
        String name = kafka.topic(topic);
        List<V> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(kafka.consumerProps("reader-" + System.nanoTime()),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(name, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp);
            while (c.position(tp) < end) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    out.add(kafka.valueSerde(topic).deserialize(name, r.value()));
                }
            }
        }
        return out;
    }

    @Test
    void shouldStopCleanlyWhileWaitingForTheBroker(@TempDir Path tmp) throws Exception {
        try (LateKafka never = LateKafka.reserve()) {
            SoupBuilderApp app = new SoupBuilderApp(KafkaSettings.embedded(never.bootstrapServers(), "soupnever."),
                    List.of(SoupRecipe.parse("name=one,base=tiny,k=1")), new ModelFolderStore(
                    new LocalBlobStore(tmp.resolve("store")), tmp.resolve("cache")), tmp.resolve("work"));
            ServiceRunner.Background running = ServiceRunner.start(app, 0);
            never.assertStopEndsTheWait(running.probePort(), WAIT, running, running::running,
                    running::failure);
        }
    }
}
