package io.salsa.ingest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the newest records of a topic (every partition, no consumer group, no commits): the service's own
 * memory is rebuilt from its topics this way, never from a local file that could disagree with them.
 */
final class TopicTail {

    private static final Logger LOG = LoggerFactory.getLogger(TopicTail.class);

    private TopicTail() {
    }

    /**
     * Assigns every partition of {@code topic} and seeks each to at most {@code perPartition} records before its
     * end.
     *
     * @return the end offsets at the time of the call, i.e. what "caught up" means for {@link #drain}
     */
    static <V> Map<TopicPartition, Long> seekToTail(Consumer<String, V> consumer, String topic, long perPartition,
                                                    Duration timeout) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        if (infos == null || infos.isEmpty()) {
            throw new IllegalStateException("topic " + topic + " does not exist or has no partitions");
        }
        List<TopicPartition> partitions = new ArrayList<>();
        infos.forEach(i -> partitions.add(new TopicPartition(i.topic(), i.partition())));
        consumer.assign(partitions);
        Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions, timeout);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
        for (TopicPartition tp : partitions) {
            consumer.seek(tp, Math.max(begin.get(tp), end.get(tp) - perPartition));
        }
        return new HashMap<>(end);
    }

    /**
     * Polls once, hands each record to {@code sink}, and steps over a record that cannot be deserialised
     * (logged and counted by the caller's sink as nothing) rather than stalling on it forever.
     *
     * @return how many records were handed over
     */
    static <V> int pollOnce(Consumer<String, V> consumer, Duration timeout,
                            BiConsumer<ConsumerRecord<String, V>, V> sink) {
        try {
            int n = 0;
            for (ConsumerRecord<String, V> r : consumer.poll(timeout)) {
                sink.accept(r, r.value());
                n++;
            }
            return n;
        } catch (RecordDeserializationException e) {
            LOG.warn("skipping undecodable record {}@{}: {}", e.topicPartition(), e.offset(), e.getMessage());
            consumer.seek(e.topicPartition(), e.offset() + 1);
            return 0;
        }
    }

    /** Polls until every partition has reached the given end offsets. */
    static <V> long drain(Consumer<String, V> consumer, Map<TopicPartition, Long> end, Duration pollTimeout,
                          BiConsumer<ConsumerRecord<String, V>, V> sink) {
        long n = 0;
        while (!caughtUp(consumer, end)) {
            n += pollOnce(consumer, pollTimeout, sink);
        }
        return n;
    }

    static boolean caughtUp(Consumer<?, ?> consumer, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }
}
