package io.salsa.runtime.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.BlobRef;
import io.salsa.events.SoupManifest;
import io.salsa.events.SoupMethod;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.SerdeException;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The one topic reader against a real broker: read to the end, exact ranges, following, typed decoding. */
@ExtendWith(KafkaExtension.class)
class KafkaLogTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void shouldReadExactlyTheRecordsWrittenBeforeTheCall(TestKafka broker) throws Exception {
        KafkaSettings kafka = settings(broker);
        String topic = topic(kafka, "to-end", 3);
        try (KafkaProducer<String, byte[]> p = producer(kafka)) {
            send(p, topic, "v", 0, 9);
            try (KafkaLog log = KafkaLog.open(kafka, topic, KafkaLog.ALL)) {
                send(p, topic, "v", 9, 13);
                List<ConsumerRecord<String, byte[]>> read = new ArrayList<>();
                assertEquals(9, log.readToEnd(read::add, WAIT));
                assertEquals(List.of("v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8"), sortedValues(read),
                        "records written after the reader was opened are not part of its end");
                assertTrue(log.caughtUp());
                for (int partition = 0; partition < 3; partition++) {
                    int p0 = partition;
                    List<Long> offsets = read.stream().filter(r -> r.partition() == p0).map(ConsumerRecord::offset)
                            .toList();
                    assertEquals(offsets.stream().sorted().toList(), offsets, "offset order within a partition");
                }
                // what was written after the open is not lost to the reader: its next polls hand it over
                List<ConsumerRecord<String, byte[]>> later = new ArrayList<>();
                long guard = System.nanoTime() + WAIT.toNanos(); // against hanging only
                while (later.size() < 4 && System.nanoTime() - guard < 0) {
                    later.addAll(log.poll(Duration.ofSeconds(1)));
                }
                assertEquals(List.of("v9", "v10", "v11", "v12"), sortedValues(later));
            }
        }
        assertEquals(13, KafkaLog.readAll(kafka, topic).size());
        List<String> each = new ArrayList<>();
        KafkaLog.forEach(kafka, topic, WAIT, r -> each.add(text(r)));
        assertEquals(13, each.size());
        assertEquals(13, KafkaLog.endOffsetSum(kafka, topic));
    }

    @Test
    void shouldTreatAMissingTopicAsEmptyForKeyedLookupsAndAsAnErrorForReaders(TestKafka broker) {
        KafkaSettings kafka = settings(broker);
        String missing = kafka.topic(Topics.SOUP) + "-missing";
        assertTrue(KafkaLog.readAll(kafka, missing).isEmpty());
        assertEquals(0, KafkaLog.endOffsetSum(kafka, missing));
        assertNull(KafkaLog.latestSoup(kafka, "any"), "no soup topic yet: no soup yet");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KafkaLog.open(kafka, missing, KafkaLog.ALL));
        assertTrue(e.getMessage().contains(missing), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KafkaLog.forEach(kafka, missing, WAIT, r -> { }));
    }

    @Test
    void shouldReadExactRangesSkippingTransactionMarkersAndAbortedRecords(TestKafka broker) throws Exception {
        KafkaSettings kafka = settings(broker);
        String topic = topic(kafka, "ranges", 1);
        Properties props = kafka.producerProps();
        props.setProperty(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "kafka-log-test-" + System.nanoTime());
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(props, new StringSerializer(),
                new ByteArraySerializer())) {
            p.initTransactions();
            transaction(p, topic, true, "a", "b", "c");  // offsets 0-2, commit marker at 3
            transaction(p, topic, false, "x", "y");      // 4-5 aborted, abort marker at 6
            transaction(p, topic, true, "d", "e");       // 7-8, commit marker at 9
        }
        assertEquals(10, KafkaLog.endOffsetSum(kafka, topic), "five records, two aborted, three markers");
        try (KafkaConsumer<String, byte[]> c = KafkaLog.rawConsumer(kafka)) {
            List<ConsumerRecord<String, byte[]>> all = KafkaLog.readRange(c, topic, 0, 0, 10);
            assertEquals(List.of("a", "b", "c", "d", "e"), all.stream().map(KafkaLogTest::text).toList());
            assertEquals(List.of(0L, 1L, 2L, 7L, 8L), all.stream().map(ConsumerRecord::offset).toList());
            assertEquals(List.of("b", "c", "d"), KafkaLog.readRange(c, topic, 0, 1, 8).stream()
                    .map(KafkaLogTest::text).toList(), "a range is exact at both ends");
            assertEquals(List.of("a", "b", "c"), KafkaLog.readRange(c, topic, 0, 0, 4).stream()
                    .map(KafkaLogTest::text).toList(), "a range that ends on a commit marker");
            assertTrue(KafkaLog.readRange(c, topic, 0, 3, 7).isEmpty(), "markers and aborted records only");
        }
        assertEquals(List.of("a", "b", "c", "d", "e"),
                KafkaLog.readAll(kafka, topic).stream().map(KafkaLogTest::text).toList());
    }

    @Test
    void shouldFollowFromTheLastRecordsSeeNewOnesAndStopOnClose(TestKafka broker) throws Exception {
        KafkaSettings kafka = settings(broker);
        String topic = topic(kafka, "follow", 1);
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        AtomicInteger caughtUp = new AtomicInteger();
        try (KafkaProducer<String, byte[]> p = producer(kafka)) {
            send(p, topic, "r", 0, 5);
            KafkaLog.Follower follower = KafkaLog.follow(kafka, topic, 2, "test-follower",
                    r -> seen.add(text(r)), caughtUp::incrementAndGet);
            try (follower) {
                assertTrue(follower.awaitCaughtUp(WAIT));
                List<String> backlog = new ArrayList<>();
                seen.drainTo(backlog);
                assertEquals(List.of("r3", "r4"), backlog, "only the last two records of the partition");

                send(p, topic, "r", 5, 6);
                assertEquals("r5", seen.poll(WAIT.toSeconds(), TimeUnit.SECONDS),
                        "a record written after the follower started");
            }
            assertFalse(follower.running(), "close waits for the thread to end");
            assertEquals(1, caughtUp.get());
            follower.close(); // closing twice is harmless
        }
    }

    @Test
    void shouldStopABlockedPollFromAnotherThread(TestKafka broker) throws Exception {
        KafkaSettings kafka = settings(broker);
        String topic = topic(kafka, "stop", 1);
        List<Integer> polls = Collections.synchronizedList(new ArrayList<>());
        try (KafkaLog log = KafkaLog.open(kafka, topic, KafkaLog.ALL)) {
            Thread reader = new Thread(() -> {
                while (!log.stopped()) {
                    polls.add(log.poll(Duration.ofDays(1)).size());
                }
            });
            reader.start();
            log.stop();
            reader.join(WAIT.toMillis()); // a bound against hanging, not a speed check
            assertFalse(reader.isAlive(), "stop() wakes a poll that would otherwise wait a day");
            assertTrue(polls.stream().allMatch(n -> n == 0));
            assertTrue(log.poll(Duration.ofDays(1)).isEmpty(), "a stopped reader reads nothing");
        }
    }

    @Test
    void shouldDecodeTypedValuesAndHandUndecodableRecordsToTheirHandler(TestKafka broker) throws Exception {
        KafkaSettings kafka = settings(broker);
        TopicAdmin.ensureTopics(kafka, List.of(Topics.SOUP));
        String topic = kafka.topic(Topics.SOUP);
        var serde = kafka.valueSerde(Topics.SOUP);
        try (KafkaProducer<String, byte[]> p = producer(kafka)) {
            p.send(new ProducerRecord<>(topic, "a", serde.serialize(topic, soup("a", 1)))).get();
            p.send(new ProducerRecord<>(topic, "a", serde.serialize(topic, soup("a", 2)))).get();
            p.send(new ProducerRecord<>(topic, "b", serde.serialize(topic, soup("b", 7)))).get();
            p.send(new ProducerRecord<>(topic, "z", "not avro".getBytes(StandardCharsets.UTF_8))).get();
            p.send(new ProducerRecord<>(topic, "b", (byte[]) null)).get();
        }
        List<SerdeException> bad = new ArrayList<>();
        List<SoupManifest> values = KafkaLog.readValues(kafka, Topics.SOUP, WAIT, (r, e) -> bad.add(e));
        assertEquals(List.of("a1", "a2", "b7"), values.stream().map(m -> m.getRecipe() + m.getVersion()).toList(),
                "decoded in offset order, the tombstone left out");
        assertEquals(1, bad.size());
        assertEquals(3, bad.get(0).offset(), "the failure names where the record is");

        assertEquals(List.of(7L), KafkaLog.valuesOf(kafka, Topics.SOUP, "b").stream()
                .map(SoupManifest::getVersion).toList());
        assertEquals(2, KafkaLog.latestSoup(kafka, "a").getVersion());
        assertThrows(SerdeException.class, () -> KafkaLog.valuesOf(kafka, Topics.SOUP, "z"));

        List<String> sunk = new ArrayList<>();
        KafkaLog.forEach(kafka, topic, WAIT, KafkaLog.decoding(serde,
                (r, m) -> sunk.add(r.key() + "=" + (m == null ? "tombstone" : m.getVersion())),
                (r, e) -> sunk.add(r.key() + "=undecodable")));
        assertEquals(List.of("a=1", "a=2", "b=7", "z=undecodable", "b=tombstone"), sunk);
    }

    private static KafkaSettings settings(TestKafka broker) {
        return KafkaSettings.embedded(broker.bootstrapServers(), "kafkalog-" + System.nanoTime() + ".");
    }

    private static String topic(KafkaSettings kafka, String name, int partitions) throws Exception {
        String topic = kafka.topicPrefix() + name;
        try (Admin admin = Admin.create(kafka.adminProps())) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
        }
        return topic;
    }

    private static KafkaProducer<String, byte[]> producer(KafkaSettings kafka) {
        return new KafkaProducer<>(kafka.producerProps(), new StringSerializer(), new ByteArraySerializer());
    }

    /** Sends {@code prefix + i} for i in [from, until), keyed by i, and waits for every ack. */
    private static void send(KafkaProducer<String, byte[]> p, String topic, String prefix, int from, int until)
            throws Exception {
        for (int i = from; i < until; i++) {
            p.send(new ProducerRecord<>(topic, "k" + i, (prefix + i).getBytes(StandardCharsets.UTF_8))).get();
        }
    }

    private static void transaction(KafkaProducer<String, byte[]> p, String topic, boolean commit, String... values) {
        p.beginTransaction();
        for (String v : values) {
            p.send(new ProducerRecord<>(topic, 0, v, v.getBytes(StandardCharsets.UTF_8)));
        }
        if (commit) {
            p.commitTransaction();
        } else {
            p.flush();
            p.abortTransaction();
        }
    }

    private static String text(ConsumerRecord<String, byte[]> r) {
        return new String(r.value(), StandardCharsets.UTF_8);
    }

    private static List<String> sortedValues(List<ConsumerRecord<String, byte[]>> records) {
        return records.stream().map(KafkaLogTest::text).sorted((a, b) -> Integer.compare(
                Integer.parseInt(a.substring(1)), Integer.parseInt(b.substring(1)))).toList();
    }

    private static SoupManifest soup(String recipe, long version) {
        return SoupManifest.newBuilder().setRecipe(recipe).setVersion(version).setBaseModel("tiny")
                .setMethod(SoupMethod.UNIFORM).setMembers(List.of())
                .setBlob(BlobRef.newBuilder().setUri("file:///soup").setSha256("0".repeat(64)).setSizeBytes(1).build())
                .setCreatedAtMs(0).build();
    }
}
