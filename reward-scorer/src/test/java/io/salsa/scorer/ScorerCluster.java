package io.salsa.scorer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.Rollout;
import io.salsa.events.ScoredRollout;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

/**
 * Real-broker plumbing shared by the scorer's integration tests: topics under a unique prefix, producing
 * rollouts, reading scored rollouts with read_committed, and scorer instances with test-friendly timeouts.
 */
final class ScorerCluster {

    static final String MODEL = "rm-it";
    /** Batches are small and the test model sleeps, so a run lasts long enough to stop an instance mid-stream. */
    static final int BATCH = 4;

    final KafkaSettings settings;
    final String appId;

    ScorerCluster(String bootstrap, String prefix) {
        this(KafkaSettings.embedded(bootstrap, prefix));
    }

    /** A cluster reached with {@code settings} (a secured one, say); the app id gets the prefix from them. */
    ScorerCluster(KafkaSettings settings) {
        this.settings = settings;
        this.appId = "scorer";
        TopicAdmin.ensureTopics(settings, List.of(Topics.ROLLOUTS, Topics.SCORED_ROLLOUTS, Topics.REWARD_MODELS,
                Topics.DEAD_LETTERS));
    }

    /** Timeouts short enough that a dead instance's partitions and transaction are taken over within seconds. */
    static Map<String, Object> fastFailover() {
        Map<String, Object> o = new HashMap<>();
        o.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 6000);
        o.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 1000);
        o.put(StreamsConfig.producerPrefix("transaction.timeout.ms"), 5000);
        return o;
    }

    ScorerConfig config(String scorerId, Path stateDir) {
        return config(settings, appId, scorerId, stateDir);
    }

    /** The test scorers' config on {@code settings}, for a scorer started before its cluster is there. */
    static ScorerConfig config(KafkaSettings settings, String appId, String scorerId, Path stateDir) {
        return ScorerConfig.defaults(settings)
                .withIdentity(appId, scorerId, stateDir)
                .withModel(MODEL, null)
                .withBatching(BATCH, Duration.ofMillis(50));
    }

    /** Starts a scorer instance in this JVM serving the test double with {@code delayMs} per batch. */
    KafkaStreams startInstance(String scorerId, Path stateDir, long delayMs, ScorerMetrics metrics) {
        ScorerConfig config = config(scorerId, stateDir);
        RewardModelSlot slot = new RewardModelSlot(MODEL, cp -> {
            throw new UnsupportedOperationException("no checkpoints in this test");
        }, Runnable::run);
        slot.install(new LengthRewardModel(MODEL, 1, 1000, delayMs));
        Properties props = RewardScorerApp.streamsConfig(config);
        props.putAll(fastFailover());
        return RewardScorerApp.start(config, props, settings.registry(), slot, metrics);
    }

    void produceRollouts(String prefix, int n) {
        RegistryAvroSerde<Rollout> serde = settings.valueSerde(Topics.ROLLOUTS);
        try (KafkaProducer<String, Rollout> producer = new KafkaProducer<>(settings.producerProps(),
                new StringSerializer(), serde.serializer())) {
            for (int i = 0; i < n; i++) {
                Rollout r = TestRollouts.rolloutOfLength(prefix + i, "prompt-" + prefix + i, 1 + i % 50, 3 + i % 7);
                producer.send(new ProducerRecord<>(settings.topic(Topics.ROLLOUTS), r.getPromptId(), r));
            }
            producer.flush();
        }
    }

    /** Everything committed to scored-rollouts so far (read_committed, from the beginning to the end offsets). */
    List<ScoredRollout> readAllScored() {
        return readScored(list -> false, Duration.ZERO);
    }

    /**
     * Reads scored-rollouts with read_committed from the beginning until {@code done} holds for what was read
     * (or the timeout passes), then to the end offsets of that moment.
     */
    List<ScoredRollout> readScored(Predicate<List<ScoredRollout>> done, Duration timeout) {
        Properties p = settings.consumerProps(appId + "-reader-" + System.nanoTime());
        RegistryAvroSerde<ScoredRollout> serde = settings.valueSerde(Topics.SCORED_ROLLOUTS);
        String topic = settings.topic(Topics.SCORED_ROLLOUTS);
        List<ScoredRollout> out = new ArrayList<>();
        try (KafkaConsumer<String, ScoredRollout> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
                serde.deserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!done.test(out) && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, ScoredRollout> r : consumer.poll(Duration.ofMillis(200))) {
                    out.add(r.value());
                }
            }
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            long drainDeadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                for (ConsumerRecord<String, ScoredRollout> r : consumer.poll(Duration.ofMillis(200))) {
                    out.add(r.value());
                }
                assertTrue(System.nanoTime() < drainDeadline, "scored-rollouts did not drain in 30 s");
            }
        }
        return out;
    }

    static Predicate<List<ScoredRollout>> distinctAtLeast(int n) {
        return list -> list.stream().map(s -> s.getRollout().getRolloutId()).distinct().count() >= n;
    }

    /** How often each rollout id occurs. */
    static Map<String, Integer> occurrences(List<ScoredRollout> scored) {
        Map<String, Integer> counts = new HashMap<>();
        scored.forEach(s -> counts.merge(s.getRollout().getRolloutId(), 1, Integer::sum));
        return counts;
    }

    static void awaitRunning(KafkaStreams streams, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (streams.state() != KafkaStreams.State.RUNNING) {
            assertTrue(System.nanoTime() < deadline, "instance not RUNNING after " + timeout + ": " + streams.state());
            Thread.sleep(50);
        }
    }
}
