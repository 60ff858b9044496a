package io.salsa.generator;

import io.salsa.schemas.KafkaSettings;
import java.util.Properties;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * A daemon thread that reads a topic as a log (assigned partitions, no consumer group) next to other work for the
 * generator's learner watch, which also measures lag with an admin client on that thread: {@link #close()} wakes
 * the consumer up and waits for the thread. (Followers of compacted model topics use {@code KafkaLog.follow}.)
 */
abstract class BackgroundReader implements AutoCloseable {

    private final Thread thread;
    private volatile boolean running = true;
    private volatile KafkaConsumer<byte[], byte[]> consumer;

    BackgroundReader(String threadName) {
        this.thread = new Thread(this::loop, threadName);
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    /** The thread's work; it returns when {@link #running()} turns false or the consumer is woken up. */
    protected abstract void loop();

    protected boolean running() {
        return running;
    }

    /** A group-less consumer of raw bytes, woken up by {@link #close()}; the caller closes it. */
    protected KafkaConsumer<byte[], byte[]> openConsumer(KafkaSettings settings) {
        Properties props = settings.groupLessConsumerProps();
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
        consumer = c;
        return c;
    }

    @Override
    public void close() {
        running = false;
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
