package io.salsa.scorer.rm;

import io.salsa.events.RewardModelCheckpoint;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import io.salsa.schemas.serde.SerdeException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Reads and writes the compacted reward-models topic: which versions exist, and publishing a new one. */
public final class RewardModelCatalog {

    private RewardModelCatalog() {
    }

    /** The highest version published under {@code name}, read from the whole topic as it is now. */
    public static OptionalLong latestVersion(KafkaSettings settings, String name, Duration timeout) {
        String topic = settings.topic(Topics.REWARD_MODELS);
        RegistryAvroSerde<RewardModelCheckpoint> serde = settings.valueSerde(Topics.REWARD_MODELS);
        long best = Long.MIN_VALUE;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
                settings.consumerProps("salsa-rm-catalog-" + UUID.randomUUID()), new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic, timeout).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts, timeout);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("could not read " + topic + " to its end within " + timeout);
                }
                for (ConsumerRecord<byte[], byte[]> rec : consumer.poll(Duration.ofMillis(500))) {
                    if (rec.value() == null) {
                        continue;
                    }
                    try {
                        RewardModelCheckpoint cp = serde.decode(rec);
                        if (cp.getName().equals(name)) {
                            best = Math.max(best, cp.getVersion());
                        }
                    } catch (SerdeException e) {
                        // an undecodable record names no version we could collide with
                    }
                }
            }
        }
        return best == Long.MIN_VALUE ? OptionalLong.empty() : OptionalLong.of(best);
    }

    /** Publishes {@code checkpoint} keyed by its name and waits until Kafka has it (acks=all). */
    public static void publish(KafkaSettings settings, RewardModelCheckpoint checkpoint) throws Exception {
        RegistryAvroSerde<RewardModelCheckpoint> serde = settings.valueSerde(Topics.REWARD_MODELS);
        try (KafkaProducer<String, RewardModelCheckpoint> producer = new KafkaProducer<>(settings.producerProps(),
                new StringSerializer(), serde.serializer())) {
            producer.send(new ProducerRecord<>(settings.topic(Topics.REWARD_MODELS), checkpoint.getName(),
                    checkpoint)).get();
        }
    }
}
