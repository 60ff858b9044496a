package io.salsa.runtime.kafka;

import io.salsa.events.SoupManifest;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads retained topics as logs rather than as a group: a whole topic up to its current end (manifests, the
 * latest checkpoint or soup of a key) or exact offset ranges (a manifest's batch), with raw values so each caller
 * decodes and dead-letters per record. Shared by the soup builder and the learner.
 */
public final class KafkaLog {

    private static final Duration POLL = Duration.ofMillis(200);
    private static final long TIMEOUT_MS = 60_000;

    private KafkaLog() {}

    /** A group-less consumer of raw values (read_committed, no auto commit). */
    public static KafkaConsumer<String, byte[]> rawConsumer(KafkaSettings settings) {
        Properties p = new Properties();
        p.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        p.setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.setProperty(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.setProperty(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Integer.toString(KafkaSettings.MAX_RECORD_BYTES));
        return new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /** The partitions of {@code topic}, in order. */
    public static List<TopicPartition> partitions(KafkaConsumer<?, ?> consumer, String topic) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofMillis(TIMEOUT_MS));
        List<TopicPartition> out = new ArrayList<>();
        for (PartitionInfo info : infos) {
            out.add(new TopicPartition(topic, info.partition()));
        }
        out.sort((a, b) -> Integer.compare(a.partition(), b.partition()));
        return out;
    }

    /** Records ever written to {@code topic}: the sum of its partitions' end offsets. */
    public static long endOffsetSum(KafkaSettings settings, String topic) {
        try (KafkaConsumer<String, byte[]> consumer = rawConsumer(settings)) {
            return consumer.endOffsets(partitions(consumer, topic)).values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /** The newest {@code SoupManifest} of {@code recipe} on the soup topic, or null when it has none. */
    public static SoupManifest latestSoup(KafkaSettings settings, String recipe) {
        String topic = settings.topic(Topics.SOUP);
        RegistryAvroSerde<SoupManifest> serde = settings.valueSerde(Topics.SOUP);
        SoupManifest latest = null;
        for (ConsumerRecord<String, byte[]> r : readAll(settings, topic)) {
            if (recipe.equals(r.key()) && r.value() != null) {
                SoupManifest m = serde.deserialize(topic, r.value());
                if (latest == null || m.getVersion() > latest.getVersion()) {
                    latest = m;
                }
            }
        }
        return latest;
    }

    /** Every record of {@code topic} from the beginning up to its end at the time of the call, in offset order. */
    public static List<ConsumerRecord<String, byte[]>> readAll(KafkaSettings settings, String topic) {
        try (KafkaConsumer<String, byte[]> consumer = rawConsumer(settings)) {
            List<TopicPartition> parts = partitions(consumer, topic);
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
            long deadline = System.currentTimeMillis() + TIMEOUT_MS;
            while (!reached(consumer, end)) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("timed out reading " + topic + " to its end " + end);
                }
                consumer.poll(POLL).forEach(out::add);
            }
            return out;
        }
    }

    /** The records of {@code partition} in [from, until), in offset order (gaps from transactions are skipped). */
    public static List<ConsumerRecord<String, byte[]>> readRange(KafkaConsumer<String, byte[]> consumer, String topic,
            int partition, long from, long until) {
        TopicPartition tp = new TopicPartition(topic, partition);
        consumer.assign(List.of(tp));
        consumer.seek(tp, from);
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (consumer.position(tp) < until) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("timed out reading " + tp + " [" + from + ", " + until
                        + "): is the topic's retention unlimited?");
            }
            for (ConsumerRecord<String, byte[]> r : consumer.poll(POLL)) {
                if (r.offset() < until) {
                    out.add(r);
                }
            }
        }
        return out;
    }

    /** Whether {@code consumer} has read every assigned partition up to {@code end}. */
    public static boolean reached(KafkaConsumer<?, ?> consumer, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }
}
