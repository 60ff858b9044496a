package io.salsa.runtime.follow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.schemas.KafkaSettings;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(KafkaExtension.class)
class TopicTailTest {

    @Test
    void shouldReadTheHistoryThenSayItCaughtUpThenFollowTheTail(TestKafka kafka) throws Exception {
        KafkaSettings settings = KafkaSettings.embedded(kafka.bootstrapServers(), "tail.");
        String topic = "tail.models";
        try (Admin admin = Admin.create(settings.adminProps())) {
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(settings.producerProps(),
                new StringSerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < 6; i++) {
                producer.send(new ProducerRecord<>(topic, i % 2, "k" + i, ("v" + i).getBytes(StandardCharsets.UTF_8)))
                        .get();
            }
            List<String> seen = new CopyOnWriteArrayList<>();
            List<Integer> seenAtCatchUp = new ArrayList<>();
            CountDownLatch caughtUp = new CountDownLatch(1);
            CountDownLatch tailRecord = new CountDownLatch(1);
            TopicTail.Handler handler = new TopicTail.Handler() {
                @Override
                public void record(ConsumerRecord<String, byte[]> r) {
                    String value = new String(r.value(), StandardCharsets.UTF_8);
                    seen.add(value);
                    if (value.equals("tail")) {
                        tailRecord.countDown();
                    }
                }

                @Override
                public void polled(boolean upToEnd) {
                    if (upToEnd && caughtUp.getCount() > 0) {
                        seenAtCatchUp.add(seen.size());
                        caughtUp.countDown();
                    }
                }
            };
            try (TopicTail tail = TopicTail.start("tail-test", settings, List.of(topic), handler)) {
                assertTrue(caughtUp.await(60, TimeUnit.SECONDS));
                assertEquals(List.of(6), seenAtCatchUp, "caught up only once the whole history was read");
                assertEquals(Set.of("v0", "v1", "v2", "v3", "v4", "v5"), Set.copyOf(seen));
                producer.send(new ProducerRecord<>(topic, 1, "k", "tail".getBytes(StandardCharsets.UTF_8))).get();
                assertTrue(tailRecord.await(60, TimeUnit.SECONDS), "records written later are followed");
                assertNull(tail.failure());
            }
            assertEquals(7, seen.size());
        }
    }

    @Test
    void shouldReportAHandlerThatThrows(TestKafka kafka) throws Exception {
        KafkaSettings settings = KafkaSettings.embedded(kafka.bootstrapServers(), "tail-fail.");
        String topic = "tail-fail.models";
        try (Admin admin = Admin.create(settings.adminProps())) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        List<Throwable> told = new CopyOnWriteArrayList<>();
        TopicTail.Handler failing = new TopicTail.Handler() {
            @Override
            public void record(ConsumerRecord<String, byte[]> r) {
            }

            @Override
            public void polled(boolean caughtUp) {
                stopped.countDown();
                throw new IllegalStateException("handler bug");
            }

            @Override
            public void failed(Throwable error) {
                told.add(error);
            }
        };
        try (TopicTail tail = TopicTail.start("tail-fail-test", settings, List.of(topic), failing)) {
            assertTrue(stopped.await(60, TimeUnit.SECONDS));
            tail.close(); // joins the thread, so the failure is recorded by now
            assertEquals("handler bug", tail.failure().getMessage());
            assertEquals(List.of(tail.failure()), told, "the handler is told, once");
        }
    }
}
