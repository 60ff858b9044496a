package io.salsa.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(KafkaExtension.class)
class KafkaExtensionTest {

    static TestKafka first;

    @Test
    void shouldGiveARealBrokerThatAcceptsTopics(TestKafka kafka) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic("testkit-topic", 2, (short) 1))).all().get();
            assertEquals(2, admin.describeTopics(List.of("testkit-topic")).allTopicNames().get()
                    .get("testkit-topic").partitions().size());
        }
        remember(kafka);
    }

    @Test
    void shouldShareOneBrokerAcrossTests(TestKafka kafka) {
        remember(kafka);
    }

    private static synchronized void remember(TestKafka kafka) {
        if (first == null) {
            first = kafka;
        } else {
            assertSame(first, kafka);
        }
    }
}
