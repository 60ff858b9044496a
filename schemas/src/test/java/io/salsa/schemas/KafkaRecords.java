package io.salsa.schemas;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Reads raw records of a topic from the beginning, for tests that check what is really in Kafka. */
public final class KafkaRecords {

    private KafkaRecords() {
    }

    /** Reads {@code count} records of {@code topic} (all partitions) from the start, or fails after 30 s. */
    public static List<ConsumerRecord<byte[], byte[]>> read(String bootstrap, String topic, int count) {
        return read(bootstrap, List.of(topic), count);
    }

    /** Reads {@code count} records of all {@code topics} together from the start, or fails after 30 s. */
    public static List<ConsumerRecord<byte[], byte[]>> read(String bootstrap, List<String> topics, int count) {
        Properties p = new Properties();
        p.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<byte[], byte[]> c =
                     new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = topics.stream().flatMap(topic -> c.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition()))).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.size() < count) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("read only " + out.size() + " of " + count + " records of " + topics);
                }
                c.poll(Duration.ofMillis(100)).forEach(out::add);
            }
            return out;
        }
    }
}
