package io.salsa.runtime.kafka;

import io.salsa.events.SoupManifest;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topic;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import io.salsa.schemas.serde.SerdeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way services read topics as logs rather than as a consumer group (no group, no commits, committed records
 * only, raw values so each caller decodes and dead-letters per record): a whole topic up to its end at the time of
 * the call, exact offset ranges (a manifest's batch), and following a topic from its beginning or from the last
 * records of each partition, with the caller's thread ({@link #open}) or a background one ({@link #follow}).
 *
 * <p>An instance is one reader of one topic, positioned when opened; {@link #stop()} may be called from any thread
 * and makes the reader's next or current {@link #poll} return nothing, {@link #close()} belongs to the reading
 * thread.
 */
public final class KafkaLog implements AutoCloseable {

    /** Start from the beginning of every partition (as many records back as there are). */
    public static final long ALL = Long.MAX_VALUE;

    private static final Logger LOG = LoggerFactory.getLogger(KafkaLog.class);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final KafkaSettings settings;
    private final String topic;
    private final KafkaConsumer<String, byte[]> consumer;
    private Map<TopicPartition, Long> endAtOpen = Map.of();
    private volatile boolean stopped;

    private KafkaLog(KafkaSettings settings, String topic) {
        this.settings = settings;
        this.topic = topic;
        this.consumer = rawConsumer(settings);
    }

    // ---- a reader of one topic -------------------------------------------------------------------------------------

    /**
     * Opens a reader of {@code topic} with every partition positioned {@code lastPerPartition} records before its
     * current end ({@link #ALL}: at its beginning); that end is what {@link #caughtUp()} and {@link #readToEnd}
     * mean by "the end".
     *
     * @throws IllegalArgumentException if the topic does not exist
     */
    public static KafkaLog open(KafkaSettings settings, String topic, long lastPerPartition) {
        KafkaLog log = new KafkaLog(settings, topic);
        try {
            log.position(lastPerPartition, true, TIMEOUT);
            return log;
        } catch (RuntimeException e) {
            log.close();
            throw e;
        }
    }

    /**
     * Follows {@code topic} on a daemon thread named {@code name}, from {@code lastPerPartition} records before each
     * partition's end, handing every record to {@code each} until {@link Follower#close()}; {@code onCaughtUp} runs
     * once, on that thread, when the records present at the start have all been handed over.
     */
    public static Follower follow(KafkaSettings settings, String topic, long lastPerPartition, String name,
            Consumer<ConsumerRecord<String, byte[]>> each, Runnable onCaughtUp) {
        return new Follower(new KafkaLog(settings, topic), lastPerPartition, name, each, onCaughtUp);
    }

    /** Assigns every partition and seeks each {@code last} records before its end; false if the topic is missing. */
    private boolean position(long last, boolean required, Duration timeout) {
        List<TopicPartition> parts = partitions(consumer, topic, timeout);
        if (parts.isEmpty()) {
            if (required) {
                throw new IllegalArgumentException("topic " + topic + " does not exist at "
                        + settings.bootstrapServers());
            }
            return false;
        }
        consumer.assign(parts);
        Map<TopicPartition, Long> begin = consumer.beginningOffsets(parts, timeout);
        Map<TopicPartition, Long> end = consumer.endOffsets(parts, timeout);
        for (TopicPartition tp : parts) {
            // end - ALL stays negative (ends are never negative), so ALL lands on the beginning without overflow
            consumer.seek(tp, Math.max(begin.get(tp), end.get(tp) - last));
        }
        endAtOpen = Map.copyOf(end);
        return true;
    }

    public String topic() {
        return topic;
    }

    /** Each partition's end offset when the reader was opened. */
    public Map<TopicPartition, Long> endAtOpen() {
        return endAtOpen;
    }

    /** Whether every partition has been read up to its end at open. */
    public boolean caughtUp() {
        return reached(consumer, endAtOpen);
    }

    /** The records of one poll (at most {@code timeout} of waiting); nothing once {@link #stop()} was called. */
    public List<ConsumerRecord<String, byte[]>> poll(Duration timeout) {
        if (stopped || endAtOpen.isEmpty()) {
            return List.of();
        }
        try {
            List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
            consumer.poll(timeout).forEach(out::add);
            return out;
        } catch (WakeupException e) {
            if (!stopped) {
                throw e;
            }
            return List.of();
        }
    }

    /**
     * Hands every record up to the end at open (and none after it: those stay for the next {@link #poll}) to
     * {@code each}, in offset order per partition; returns how many, or early once {@link #stop()} was called.
     *
     * @throws IllegalStateException if the end is not reached within {@code timeout}
     */
    public long readToEnd(Consumer<ConsumerRecord<String, byte[]>> each, Duration timeout) {
        long n = 0;
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!stopped && !caughtUp()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("could not read " + topic + " to its end " + endAtOpen + " within "
                        + timeout + " (at " + positions() + ")");
            }
            Map<TopicPartition, Long> rewind = new HashMap<>();
            for (ConsumerRecord<String, byte[]> r : poll(POLL)) {
                TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                if (r.offset() < endAtOpen.get(tp)) {
                    each.accept(r);
                    n++;
                } else {
                    // a poll may run past the end taken at open: those records were written after it, and stay
                    // for the reader's next poll (records come in offset order, so the first one is the lowest)
                    rewind.putIfAbsent(tp, r.offset());
                }
            }
            rewind.forEach(consumer::seek);
        }
        return n;
    }

    private Map<TopicPartition, Long> positions() {
        Map<TopicPartition, Long> at = new HashMap<>();
        endAtOpen.keySet().forEach(tp -> at.put(tp, consumer.position(tp)));
        return at;
    }

    /** Asks the reading thread to stop: a blocked or the next {@link #poll} returns nothing. Any thread. */
    public void stop() {
        stopped = true;
        consumer.wakeup();
    }

    public boolean stopped() {
        return stopped;
    }

    /** Closes the consumer; call it from the reading thread. */
    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }

    // ---- one-shot reads --------------------------------------------------------------------------------------------

    /**
     * Hands every record of {@code topic} from the beginning up to its end at the time of the call to {@code each},
     * in offset order per partition.
     *
     * @throws IllegalArgumentException if the topic does not exist
     * @throws IllegalStateException    if the end is not reached within {@code timeout}
     */
    public static void forEach(KafkaSettings settings, String topic, Duration timeout,
            Consumer<ConsumerRecord<String, byte[]>> each) {
        try (KafkaLog log = new KafkaLog(settings, topic)) {
            log.position(ALL, true, timeout);
            log.readToEnd(each, timeout);
        }
    }

    /**
     * Every record of {@code topic} from the beginning up to its end at the time of the call, in offset order per
     * partition; a topic that does not exist (yet) reads as empty.
     */
    public static List<ConsumerRecord<String, byte[]>> readAll(KafkaSettings settings, String topic) {
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        try (KafkaLog log = new KafkaLog(settings, topic)) {
            if (log.position(ALL, false, TIMEOUT)) {
                log.readToEnd(out::add, TIMEOUT);
            }
        }
        return out;
    }

    /** The records of {@code partition} in [from, until), in offset order (gaps from transactions are skipped). */
    public static List<ConsumerRecord<String, byte[]>> readRange(KafkaConsumer<String, byte[]> consumer, String topic,
            int partition, long from, long until) {
        TopicPartition tp = new TopicPartition(topic, partition);
        consumer.assign(List.of(tp));
        consumer.seek(tp, from);
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        // the position moves past commit markers and aborted records too, so it reaches `until` even when the
        // range ends on a marker
        while (consumer.position(tp) < until) {
            if (System.nanoTime() - deadline > 0) {
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

    /** Records ever written to {@code topic}: the sum of its partitions' end offsets (0 if it does not exist). */
    public static long endOffsetSum(KafkaSettings settings, String topic) {
        try (KafkaConsumer<String, byte[]> consumer = rawConsumer(settings)) {
            return consumer.endOffsets(partitions(consumer, topic)).values().stream().mapToLong(Long::longValue).sum();
        }
    }

    // ---- typed reads -----------------------------------------------------------------------------------------------

    /**
     * Decodes the value of {@code record} with {@code serde}; a tombstone is null.
     *
     * @throws SerdeException naming the record's topic, partition and offset
     */
    public static <V extends SpecificRecord> V decode(RegistryAvroSerde<V> serde,
            ConsumerRecord<String, byte[]> record) {
        try {
            return serde.deserialize(record.topic(), record.value());
        } catch (SerdeException e) {
            throw e.at(record.partition(), record.offset());
        }
    }

    /**
     * A record handler that decodes each value and hands record and value (null for a tombstone) to {@code sink},
     * and a record that does not decode to {@code undecodable} instead.
     */
    public static <V extends SpecificRecord> Consumer<ConsumerRecord<String, byte[]>> decoding(
            RegistryAvroSerde<V> serde, BiConsumer<ConsumerRecord<String, byte[]>, V> sink,
            BiConsumer<ConsumerRecord<String, byte[]>, SerdeException> undecodable) {
        return r -> {
            V value;
            try {
                value = decode(serde, r);
            } catch (SerdeException e) {
                undecodable.accept(r, e);
                return;
            }
            sink.accept(r, value);
        };
    }

    /** The {@code undecodable} handler of readers that step over a bad record: a warning, and nothing else. */
    public static void skipUndecodable(ConsumerRecord<String, byte[]> record, SerdeException error) {
        LOG.warn("skipping undecodable record {}-{}@{}: {}", record.topic(), record.partition(), record.offset(),
                error.getMessage());
    }

    /**
     * Every value on {@code topic} from the beginning up to its end at the time of the call, decoded, in offset
     * order per partition; tombstones are left out, records that do not decode go to {@code undecodable}.
     *
     * @throws IllegalArgumentException if the topic does not exist
     * @throws IllegalStateException    if the end is not reached within {@code timeout}
     */
    public static <V extends SpecificRecord> List<V> readValues(KafkaSettings settings, Topic<String, V> topic,
            Duration timeout, BiConsumer<ConsumerRecord<String, byte[]>, SerdeException> undecodable) {
        List<V> out = new ArrayList<>();
        forEach(settings, settings.topic(topic), timeout, decoding(settings.valueSerde(topic), (r, v) -> {
            if (v != null) {
                out.add(v);
            }
        }, undecodable));
        return out;
    }

    /**
     * The values stored under {@code key} on {@code topic} up to its end at the time of the call, in offset order
     * (one key lives in one partition); tombstones are left out, a missing topic has none.
     *
     * @throws SerdeException if one of them does not decode
     */
    public static <V extends SpecificRecord> List<V> valuesOf(KafkaSettings settings, Topic<String, V> topic,
            String key) {
        RegistryAvroSerde<V> serde = settings.valueSerde(topic);
        List<V> out = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : readAll(settings, settings.topic(topic))) {
            if (key.equals(r.key()) && r.value() != null) {
                out.add(decode(serde, r));
            }
        }
        return out;
    }

    /** The newest {@code SoupManifest} of {@code recipe} on the soup topic, or null when it has none. */
    public static SoupManifest latestSoup(KafkaSettings settings, String recipe) {
        SoupManifest latest = null;
        for (SoupManifest m : valuesOf(settings, Topics.SOUP, recipe)) {
            if (latest == null || m.getVersion() > latest.getVersion()) {
                latest = m;
            }
        }
        return latest;
    }

    // ---- consumers -------------------------------------------------------------------------------------------------

    /** A group-less consumer of raw values (read_committed, no auto commit). */
    public static KafkaConsumer<String, byte[]> rawConsumer(KafkaSettings settings) {
        Properties p = settings.groupLessConsumerProps();
        p.setProperty(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Integer.toString(KafkaSettings.MAX_RECORD_BYTES));
        return new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /** The partitions of {@code topic}, in order; empty if it does not exist. */
    public static List<TopicPartition> partitions(KafkaConsumer<?, ?> consumer, String topic) {
        return partitions(consumer, topic, TIMEOUT);
    }

    private static List<TopicPartition> partitions(KafkaConsumer<?, ?> consumer, String topic, Duration timeout) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        List<TopicPartition> out = new ArrayList<>();
        if (infos != null) {
            for (PartitionInfo info : infos) {
                out.add(new TopicPartition(topic, info.partition()));
            }
        }
        out.sort((a, b) -> Integer.compare(a.partition(), b.partition()));
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

    // ---- following on a thread -------------------------------------------------------------------------------------

    /** A {@link KafkaLog} read on its own daemon thread into a callback, until closed. */
    public static final class Follower implements AutoCloseable {

        private final KafkaLog log;
        private final long lastPerPartition;
        private final String name;
        private final Consumer<ConsumerRecord<String, byte[]>> each;
        private final Runnable onCaughtUp;
        private final CountDownLatch caughtUp = new CountDownLatch(1);
        private final Thread thread;

        private Follower(KafkaLog log, long lastPerPartition, String name,
                Consumer<ConsumerRecord<String, byte[]>> each, Runnable onCaughtUp) {
            this.log = log;
            this.lastPerPartition = lastPerPartition;
            this.name = name;
            this.each = each;
            this.onCaughtUp = onCaughtUp;
            this.thread = new Thread(this::run, name);
            this.thread.setDaemon(true);
            this.thread.start();
        }

        private void run() {
            try (log) {
                // positioned here, not by the caller: a slow or absent broker must not block whoever starts us
                log.position(lastPerPartition, true, TIMEOUT);
                while (!log.stopped()) {
                    for (ConsumerRecord<String, byte[]> r : log.poll(POLL)) {
                        if (log.stopped()) {
                            break;
                        }
                        each.accept(r);
                    }
                    if (caughtUp.getCount() > 0 && !log.stopped() && log.caughtUp()) {
                        caughtUp.countDown();
                        onCaughtUp.run();
                    }
                }
            } catch (WakeupException e) {
                if (!log.stopped()) {
                    LOG.error("{} stopped: {}", name, e.toString(), e);
                }
            } catch (RuntimeException e) {
                LOG.error("{} stopped: {}", name, e.toString(), e);
            }
        }

        /** Waits until the records present at the start have been handed over; false on timeout. */
        public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
            return caughtUp.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
        }

        /** Whether the thread is still reading (false after close or after a failure it logged). */
        public boolean running() {
            return thread.isAlive();
        }

        /** Stops after the record being handled, waits (up to 10 s) for the thread to close its consumer. */
        @Override
        public void close() {
            log.stop();
            if (Thread.currentThread() == thread) {
                return;
            }
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
