package io.salsa.scorer;

import io.salsa.schemas.KafkaSettings;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads a whole topic as it is at the moment of the call — every committed record from the beginning to the
 * end offsets taken at the start — for one-shot readers (training data, the latest model version).
 */
public final class TopicSnapshot {

    private TopicSnapshot() {
    }

    /**
     * Hands every record of {@code topic} to {@code each}, raw, partition by partition in offset order.
     *
     * @throws IllegalArgumentException if the topic does not exist
     * @throws IllegalStateException    if the end is not reached within {@code timeout}
     */
    public static void forEach(KafkaSettings settings, String topic, Duration timeout,
                               Consumer<ConsumerRecord<byte[], byte[]>> each) {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
                settings.consumerProps("salsa-snapshot-" + UUID.randomUUID()), new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic, timeout).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            if (parts.isEmpty()) {
                throw new IllegalArgumentException("topic " + topic + " does not exist at " + settings.bootstrapServers());
            }
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts, timeout);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("could not read " + topic + " to its end within " + timeout);
                }
                consumer.poll(Duration.ofMillis(500)).forEach(each);
            }
        }
    }
}
