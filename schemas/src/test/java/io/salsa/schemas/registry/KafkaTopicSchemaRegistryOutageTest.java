package io.salsa.schemas.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.broker.EmbeddedKafkaBroker;
import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.salsa.schemas.KafkaClientConfig;
import io.salsa.schemas.KafkaSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded registry against a broker that goes away (issue 16): it waits as long as the writes would. */
class KafkaTopicSchemaRegistryOutageTest {

    @TempDir
    Path dir;

    @Test
    void shouldRegisterOnceWhenTheBrokerComesBackWithinTheWait() throws Exception {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir);
        KafkaSettings s = KafkaSettings.embedded(broker.bootstrapServers(), "outage.");
        ExecutorService pool = Executors.newSingleThreadExecutor();
        // attempts of 1 s, so the registration fails a few of them (and retries) before the broker is back
        try (KafkaTopicSchemaRegistry registry =
                     KafkaTopicSchemaRegistry.open(s, Duration.ofMinutes(2), Duration.ofSeconds(1))) {
            int prompt = registry.register("prompts-value", Prompt.getClassSchema());
            broker.close();

            Future<Integer> rollout = pool.submit(() -> registry.register("rollouts-value", Rollout.getClassSchema()));
            Thread.sleep(3500); // the registration meets the stopped broker first
            assertFalse(rollout.isDone(), "the registration waits for the broker instead of failing");
            broker = EmbeddedKafkaBroker.start(dir);

            int id = rollout.get(2, TimeUnit.MINUTES);
            assertTrue(id != prompt);
            assertEquals(id, registry.register("rollouts-value", Rollout.getClassSchema()));
            assertEquals(1, registry.versions("rollouts-value").size());
            List<String> records = recordsOf(s, registry.topic());
            assertEquals(2, records.size(), "one record per registration, none from the retries: " + records);
            assertEquals(1, records.stream().filter(r -> r.contains("\"rollouts-value\"")).count());
        } finally {
            pool.shutdownNow();
            broker.close();
        }
    }

    @Test
    void shouldOpenOnceTheBrokerIsBack() throws Exception {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir);
        // the admin client's calls (creating the topic) are bounded by its own timeouts: short ones here
        KafkaSettings s = new KafkaSettings(broker.bootstrapServers(), "late.", KafkaSettings.EMBEDDED,
                new KafkaClientConfig(Map.of("default.api.timeout.ms", "1000", "request.timeout.ms", "1000"),
                        Map.of()));
        broker.close();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<KafkaTopicSchemaRegistry> opening = pool.submit(
                    () -> KafkaTopicSchemaRegistry.open(s, Duration.ofMinutes(2), Duration.ofSeconds(1)));
            Thread.sleep(3500);
            assertFalse(opening.isDone(), "opening waits for the broker instead of failing");
            broker = EmbeddedKafkaBroker.start(dir);
            try (KafkaTopicSchemaRegistry registry = opening.get(2, TimeUnit.MINUTES)) {
                int id = registry.register("prompts-value", Prompt.getClassSchema());
                assertEquals(Prompt.getClassSchema(), registry.getById(id));
            }
        } finally {
            pool.shutdownNow();
            broker.close();
        }
    }

    @Test
    void shouldNameTheTopicAndTheWaitWhenTheBrokerStaysAway() throws Exception {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir);
        KafkaSettings s = KafkaSettings.embedded(broker.bootstrapServers(), "gone.");
        try (KafkaTopicSchemaRegistry registry = KafkaTopicSchemaRegistry.open(s, Duration.ofSeconds(2))) {
            broker.close();
            SchemaRegistryException e = assertThrows(SchemaRegistryException.class,
                    () -> registry.register("rollouts-value", Rollout.getClassSchema()));
            assertTrue(e.getMessage().contains(registry.topic()), e.getMessage());
            assertTrue(e.getMessage().contains("within the wait of 2 s"), e.getMessage());
            SchemaRegistryException lookup = assertThrows(SchemaRegistryException.class,
                    () -> registry.getById(4711));
            assertTrue(lookup.getMessage().contains(registry.topic()), lookup.getMessage());
        } finally {
            broker.close();
        }
        KafkaSettings quick = new KafkaSettings(s.bootstrapServers(), "gone.", KafkaSettings.EMBEDDED,
                new KafkaClientConfig(Map.of("default.api.timeout.ms", "1000", "request.timeout.ms", "1000"),
                        Map.of()));
        SchemaRegistryException open = assertThrows(SchemaRegistryException.class,
                () -> KafkaTopicSchemaRegistry.open(quick, Duration.ofSeconds(2)));
        assertTrue(open.getMessage().contains("gone._salsa_schemas") && open.getMessage().contains("within the wait of 2 s"),
                open.getMessage());
    }

    @Test
    void shouldWaitAsLongAsTheProducersDeliveryTimeout() {
        KafkaSettings plain = KafkaSettings.embedded("127.0.0.1:9092", "");
        assertEquals(KafkaTopicSchemaRegistry.DEFAULT_WAIT, KafkaTopicSchemaRegistry.waitOf(plain));
        assertEquals(Duration.ofMinutes(10), KafkaTopicSchemaRegistry.DEFAULT_WAIT);
        KafkaSettings configured = new KafkaSettings("127.0.0.1:9092", "", KafkaSettings.EMBEDDED,
                new KafkaClientConfig(Map.of("delivery.timeout.ms", "180000"), Map.of()));
        assertEquals(Duration.ofMinutes(3), KafkaTopicSchemaRegistry.waitOf(configured));
        assertThrows(IllegalArgumentException.class,
                () -> KafkaTopicSchemaRegistry.open(plain, Duration.ZERO));
    }

    private static List<String> recordsOf(KafkaSettings s, String topic) {
        TopicPartition tp = new TopicPartition(topic, 0);
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(s.groupLessConsumerProps(),
                new StringDeserializer(), new StringDeserializer())) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
            while (c.position(tp, Duration.ofSeconds(30)) < end) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    values.add(r.value());
                }
            }
        }
        return values;
    }
}
