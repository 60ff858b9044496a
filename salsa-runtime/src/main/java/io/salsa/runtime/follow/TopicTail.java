package io.salsa.runtime.follow;

import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads compacted topics (policy checkpoints, soups) from their beginning and keeps following their tail on a
 * daemon thread, as logs (assigned partitions, no consumer group), handing every record to a {@link Handler}: the
 * one reading loop behind the followers that feed a {@link LatestModelFollower} from a topic. {@link #close()} wakes
 * the consumer and waits for the thread.
 */
public final class TopicTail implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TopicTail.class);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final long JOIN_MILLIS = 30_000;

    /** What the reading thread does with what it reads; it runs on that thread. */
    public interface Handler {
        /** One record (null values are tombstones), in offset order within its partition. */
        void record(ConsumerRecord<String, byte[]> record);

        /**
         * After each poll, records or not; {@code caughtUp} once every partition was read up to the end it had when
         * reading started, so a decision can wait until the whole retained history was seen.
         */
        default void polled(boolean caughtUp) {
        }

        /** Reading stopped with {@code error} (not a close); nothing more is read. */
        default void failed(Throwable error) {
        }
    }

    private final String name;
    private final List<String> topics;
    private final Handler handler;
    private final KafkaConsumer<String, byte[]> consumer;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Throwable failure;

    private TopicTail(String name, KafkaSettings settings, List<String> topics, Handler handler) {
        this.name = name;
        this.topics = List.copyOf(topics);
        this.handler = Objects.requireNonNull(handler, "handler");
        this.consumer = KafkaLog.rawConsumer(settings);
        this.thread = new Thread(this::loop, name);
        this.thread.setDaemon(true);
    }

    /** Starts reading {@code topics} (full names) from their beginning on a daemon thread named {@code name}. */
    public static TopicTail start(String name, KafkaSettings settings, List<String> topics, Handler handler) {
        TopicTail tail = new TopicTail(name, settings, topics, handler);
        tail.thread.start();
        return tail;
    }

    /** Why reading stopped with an error (the handler threw, Kafka failed), or null. */
    public Throwable failure() {
        return failure;
    }

    private void loop() {
        try {
            List<TopicPartition> parts = new ArrayList<>();
            for (String topic : topics) {
                parts.addAll(KafkaLog.partitions(consumer, topic));
            }
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> ends = consumer.endOffsets(parts);
            boolean caughtUp = false;
            while (running) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(POLL)) {
                    handler.record(r);
                }
                caughtUp = caughtUp || KafkaLog.reached(consumer, ends);
                handler.polled(caughtUp);
            }
        } catch (WakeupException e) {
            if (running) {
                stopped(e);
            }
        } catch (Throwable t) {
            LOG.error("{} stopped reading {}: {}", name, topics, t.toString(), t);
            stopped(t);
        } finally {
            consumer.close();
        }
    }

    private void stopped(Throwable t) {
        failure = t;
        try {
            handler.failed(t);
        } catch (RuntimeException e) {
            LOG.error("{}: the handler failed on the failure: {}", name, e.toString());
        }
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(JOIN_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
