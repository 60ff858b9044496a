package io.salsa.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.broker.EmbeddedKafkaBroker;
import io.salsa.events.DeadLetter;
import io.salsa.events.Rollout;
import io.salsa.schemas.serde.RegistryAvroSerde;
import io.salsa.schemas.serde.SerdeException;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Every event type through a real broker with the registry serde, across a restart of broker and registry. */
@ExtendWith(KafkaExtension.class)
class EventRoundTripTest {

    @TempDir
    Path dir;

    @Test
    void shouldDecodeEveryEventTypeAfterRestartingBrokerAndRegistry() {
        Map<Topic<String, ? extends SpecificRecord>, SpecificRecord> events = SampleEvents.everyTopic();
        assertEquals(Topics.all().size(), events.size(), "a sample for every topic");
        Map<String, Integer> idsBefore;
        String bootstrap;
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir)) {
            bootstrap = broker.bootstrapServers();
            KafkaSettings s = KafkaSettings.embedded(bootstrap, "rt.");
            try {
                TopicAdmin.ensureAll(s);
                send(s, events);
                assertAllDecodable(s, events, 1);
                idsBefore = latestIds(s);
            } finally {
                s.closeRegistry();
            }
        }
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir)) {
            assertEquals(bootstrap, broker.bootstrapServers());
            KafkaSettings s = KafkaSettings.embedded(bootstrap, "rt.");
            try {
                assertAllDecodable(s, events, 1);
                assertEquals(idsBefore, latestIds(s), "ids and versions survive the restart");
                send(s, events);
                assertAllDecodable(s, events, 2);
                assertEquals(idsBefore, latestIds(s), "writing again registers nothing new");
            } finally {
                s.closeRegistry();
            }
        }
    }

    /** Sends one copy of every event, each through its topic's value serializer. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void send(KafkaSettings s, Map<Topic<String, ? extends SpecificRecord>, SpecificRecord> events) {
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(s.producerProps(),
                s.keySerde().serializer(), new ByteArraySerializer())) {
            for (Map.Entry<Topic<String, ? extends SpecificRecord>, SpecificRecord> e : events.entrySet()) {
                String name = s.topic(e.getKey());
                Serializer serializer = s.valueSerde(e.getKey()).serializer();
                byte[] value = serializer.serialize(name, e.getValue());
                producer.send(new ProducerRecord<>(name, "key-" + e.getKey().baseName(), value)).get();
            }
        } catch (Exception e) {
            throw new AssertionError("cannot send the events", e);
        }
    }

    private static void assertAllDecodable(KafkaSettings s, Map<Topic<String, ? extends SpecificRecord>,
            SpecificRecord> events, int copies) {
        Map<String, Topic<String, ? extends SpecificRecord>> byName = new java.util.HashMap<>();
        events.keySet().forEach(t -> byName.put(s.topic(t), t));
        List<ConsumerRecord<byte[], byte[]>> records = KafkaRecords.read(s.bootstrapServers(),
                List.copyOf(byName.keySet()), copies * events.size());
        Map<String, Integer> seen = new java.util.HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            Topic<String, ? extends SpecificRecord> topic = byName.get(r.topic());
            assertEquals(events.get(topic), s.valueSerde(topic).decode(r), topic.baseName());
            assertEquals("key-" + topic.baseName(), s.keySerde().deserializer().deserialize(r.topic(), r.key()),
                    "keys are plain strings");
            seen.merge(topic.baseName(), 1, Integer::sum);
        }
        events.keySet().forEach(t -> assertEquals(copies, seen.get(t.baseName()), t.baseName()));
    }

    private static Map<String, Integer> latestIds(KafkaSettings s) {
        return Topics.all().stream().collect(java.util.stream.Collectors.toMap(Topic::baseName, t -> {
            var latest = s.registry().latest(s.topic(t) + "-value").orElseThrow();
            assertEquals(1, latest.version(), t.baseName());
            return latest.id();
        }));
    }

    @Test
    void shouldDeadLetterBadBytesWithTheirTopicPartitionAndOffset(TestKafka kafka) throws Exception {
        KafkaSettings s = KafkaSettings.embedded(kafka.bootstrapServers(), "bad-" + UUID.randomUUID() + ".");
        try {
            TopicAdmin.ensureTopics(s, List.of(Topics.ROLLOUTS, Topics.DEAD_LETTERS));
            RegistryAvroSerde<Rollout> serde = s.valueSerde(Topics.ROLLOUTS);
            byte[] good = serde.serialize(s.topic(Topics.ROLLOUTS), SampleEvents.rollout(4));
            byte[] wrongMagic = good.clone();
            wrongMagic[0] = 9;
            byte[] unknownId = good.clone();
            unknownId[1] = 0x7f;
            byte[] truncated = java.util.Arrays.copyOf(good, good.length / 2);
            List<byte[]> bad = List.of(wrongMagic, unknownId, truncated);
            try (KafkaProducer<byte[], byte[]> raw = new KafkaProducer<>(s.producerProps(), new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                for (byte[] b : bad) {
                    // one key, so one partition: offsets 0, 1, 2
                    raw.send(new ProducerRecord<>(s.topic(Topics.ROLLOUTS), "p-1".getBytes(StandardCharsets.UTF_8),
                            b)).get();
                }
            }
            List<SerdeException.Reason> expected = List.of(SerdeException.Reason.WRONG_MAGIC_BYTE,
                    SerdeException.Reason.UNKNOWN_SCHEMA_ID, SerdeException.Reason.TRUNCATED);
            List<ConsumerRecord<byte[], byte[]>> records =
                    KafkaRecords.read(s.bootstrapServers(), s.topic(Topics.ROLLOUTS), bad.size());
            try (KafkaProducer<String, DeadLetter> dlq = new KafkaProducer<>(s.producerProps(),
                    s.keySerde().serializer(), s.valueSerde(Topics.DEAD_LETTERS).serializer())) {
                for (int i = 0; i < records.size(); i++) {
                    ConsumerRecord<byte[], byte[]> r = records.get(i);
                    SerdeException e = assertThrows(SerdeException.class, () -> serde.decode(r));
                    assertEquals(expected.get(i), e.reason());
                    assertTrue(e.getMessage().contains("in topic " + s.topic(Topics.ROLLOUTS) + " partition "
                            + r.partition() + " offset " + i), e.getMessage());
                    dlq.send(DeadLetters.toRecord(s, DeadLetters.of(r, e, "test"))).get();
                }
            }
            RegistryAvroSerde<DeadLetter> letters = s.valueSerde(Topics.DEAD_LETTERS);
            List<ConsumerRecord<byte[], byte[]>> dead =
                    KafkaRecords.read(s.bootstrapServers(), s.topic(Topics.DEAD_LETTERS), bad.size());
            for (int i = 0; i < dead.size(); i++) {
                DeadLetter letter = letters.decode(dead.get(i));
                assertEquals(ByteBuffer.wrap(bad.get(i)), letter.getValue(), "the raw bytes are kept untouched");
                assertEquals(i, letter.getOffset());
                assertTrue(letter.getError().startsWith("SerdeException: " + expected.get(i)), letter.getError());
            }
        } finally {
            s.closeRegistry();
        }
    }
}
