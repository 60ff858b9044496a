package io.salsa.scorer;

import io.salsa.events.DeadLetter;
import io.salsa.events.RewardModelCheckpoint;
import io.salsa.events.Rollout;
import io.salsa.events.ScoredRollout;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.registry.SchemaRegistry;
import io.salsa.schemas.serde.RegistryAvroSerde;
import io.salsa.schemas.TopicAdmin;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.BytesDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * The reward-scorer Kafka Streams application: rollouts in, reward-model scores out, exactly once, with bad
 * records dead-lettered and reward models hot-swapped from the reward-models topic.
 *
 * <pre>
 *  rollouts ──▶ [intake: decode + validate] ──valid──▶ [batcher: buffer store, score, normalise] ──▶ scored-rollouts
 *                        │ invalid / undecodable                 │ rejected by the model
 *                        └──────────────────────▶ dead-letters ◀─┘
 *  reward-models (global store) ──▶ [model updates] ──▶ RewardModelSlot (background load, atomic swap)
 * </pre>
 */
public final class RewardScorerApp {

    static final String ROLLOUTS_SOURCE = "rollouts-source";
    static final String INTAKE = "intake";
    static final String BATCHER = "batcher";
    static final String SCORED_SINK = "scored-rollouts-sink";
    static final String DEAD_LETTER_SINK = "dead-letters-sink";
    static final String REWARD_MODELS_SOURCE = "reward-models-source";
    static final String REWARD_MODEL_UPDATES = "reward-model-updates";
    /** The micro-batch buffer: validated rollouts waiting for their batch, changelogged. */
    static final String PENDING_STORE = "pending-rollouts";
    /** Running reward mean/std per reward-model version, changelogged. */
    static final String STATS_STORE = "reward-stats";
    static final String REWARD_MODELS_STORE = "reward-models";

    private static final Logger LOG = LoggerFactory.getLogger(RewardScorerApp.class);
    /** How often a running scorer logs its progress. */
    static final Duration PROGRESS_EVERY = Duration.ofSeconds(10);

    private RewardScorerApp() {
    }

    /** Builds and starts one instance; the caller closes the returned streams. */
    static KafkaStreams start(ScorerConfig config, Properties props, SchemaRegistry registry, RewardModelSlot slot,
                              ScorerMetrics metrics) {
        KafkaStreams streams = new KafkaStreams(buildTopology(config, registry, slot, metrics), props);
        streams.setUncaughtExceptionHandler(e -> {
            // e.g. the schema registry was unreachable: the records are still in Kafka, so retry in a new thread
            LOG.error("stream thread failed, replacing it: {}", e.toString(), e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        streams.start();
        return streams;
    }

    /**
     * Runs the scorer until the JVM is asked to stop: ensures the topics, serves {@code initial} (if any) until
     * a checkpoint of the followed name is published, loads checkpoints with {@code loader} in the background,
     * and logs progress.
     */
    public static void run(ScorerConfig config, RewardScorerModel initial, RewardModelLoader loader)
            throws InterruptedException {
        Service service = start(config, initial, loader);
        Thread hook = new Thread(service::close, "scorer-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        long startNanos = System.nanoTime();
        long lastScored = 0;
        while (!service.awaitStopped(PROGRESS_EVERY)) {
            long scored = service.metrics().scored();
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            LOG.info("scored {} rollouts ({}/s over the last {} s, {}/s overall), {} dead-lettered, {} batches, "
                            + "state {}, model {}", scored,
                    String.format("%.1f", (scored - lastScored) / (double) PROGRESS_EVERY.toSeconds()),
                    PROGRESS_EVERY.toSeconds(), String.format("%.1f", scored / seconds),
                    service.metrics().deadLettered(), service.metrics().batches(), service.state(),
                    service.model());
            lastScored = scored;
            if (service.failed()) {
                break;
            }
        }
        service.close(); // idempotent: after the hook, or after the streams failed
    }

    /**
     * Starts one scorer instance in this process and returns at once (the demo and tests run it beside other
     * services); {@link Service#close()} stops it. Ensures the topics first.
     */
    public static Service start(ScorerConfig config, RewardScorerModel initial, RewardModelLoader loader) {
        TopicAdmin.ensureTopics(config.kafka(), List.of(Topics.ROLLOUTS, Topics.SCORED_ROLLOUTS,
                Topics.REWARD_MODELS, Topics.DEAD_LETTERS));
        ExecutorService loads = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "reward-model-loader");
            t.setDaemon(true);
            return t;
        });
        RewardModelSlot slot = new RewardModelSlot(config.rewardModelName(), loader, loads);
        if (initial != null) {
            slot.install(initial);
        }
        ScorerMetrics metrics = new ScorerMetrics();
        KafkaStreams streams = start(config, streamsConfig(config), config.kafka().registry(), slot, metrics);
        LOG.info("reward scorer {} started: application {}, rollouts from {}, model {} ({})", config.scorerId(),
                config.applicationId(), config.rolloutsTopic(), config.rewardModelName(), slot.describe());
        return new Service(streams, slot, loads, metrics);
    }

    /** A running scorer instance: its counters, its state, and a close that stops it cleanly (idempotent). */
    public static final class Service implements AutoCloseable {
        private final KafkaStreams streams;
        private final RewardModelSlot slot;
        private final ExecutorService loads;
        private final ScorerMetrics metrics;
        private final CountDownLatch stopped = new CountDownLatch(1);

        private Service(KafkaStreams streams, RewardModelSlot slot, ExecutorService loads, ScorerMetrics metrics) {
            this.streams = streams;
            this.slot = slot;
            this.loads = loads;
            this.metrics = metrics;
        }

        /** Rollouts scored, dead-lettered, batches. */
        public ScorerMetrics metrics() {
            return metrics;
        }

        /** The Kafka Streams state. */
        public KafkaStreams.State state() {
            return streams.state();
        }

        /** Which reward model is being served. */
        public String model() {
            return slot.describe();
        }

        /** True when the streams stopped on their own (error or not running). */
        public boolean failed() {
            KafkaStreams.State s = streams.state();
            return s == KafkaStreams.State.ERROR || s == KafkaStreams.State.NOT_RUNNING;
        }

        /** Waits up to {@code timeout} for {@link #close()}; true when closed. */
        public boolean awaitStopped(Duration timeout) throws InterruptedException {
            return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public synchronized void close() {
            if (stopped.getCount() == 0) {
                return;
            }
            // leave the group: otherwise the next instance with this application id waits out the old member's
            // session timeout (45 s) before it is assigned the partitions (seen as a stalled demo on resume)
            streams.close(new KafkaStreams.CloseOptions().timeout(Duration.ofSeconds(30)).leaveGroup(true));
            slot.close();
            loads.shutdownNow();
            stopped.countDown();
        }
    }

    /** Kafka Streams settings: exactly-once v2, byte-array default serdes (every step decodes on its own). */
    static Properties streamsConfig(ScorerConfig config) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
        p.put(StreamsConfig.CLIENT_ID_CONFIG, config.applicationId() + "-" + config.scorerId());
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafka().bootstrapServers());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, config.streamThreads());
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, config.commitInterval().toMillis());
        p.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().toString());
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class);
        p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), KafkaSettings.MAX_RECORD_BYTES);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 5);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        // static membership, so that close(leaveGroup) removes this instance from the group at once: a dynamic
        // Streams member never leaves on close, and its successor waits out the session timeout (45 s)
        p.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG),
                config.applicationId() + "-" + config.scorerId());
        return p;
    }

    /**
     * The topology; serdes come from {@code registry} (the deployment's schema registry, or an in-memory one in
     * tests), topic names from the catalog under the config's prefix.
     */
    static Topology buildTopology(ScorerConfig config, SchemaRegistry registry, RewardModelSlot slot,
                                  ScorerMetrics metrics) {
        KafkaSettings kafka = config.kafka();
        RegistryAvroSerde<Rollout> rollouts = new RegistryAvroSerde<>(registry, Rollout.class);
        RegistryAvroSerde<ScoredRollout> scored = new RegistryAvroSerde<>(registry, ScoredRollout.class);
        RegistryAvroSerde<DeadLetter> deadLetters = new RegistryAvroSerde<>(registry, DeadLetter.class);
        RegistryAvroSerde<RewardModelCheckpoint> checkpoints =
                new RegistryAvroSerde<>(registry, RewardModelCheckpoint.class);
        String rewardModelsTopic = kafka.topic(Topics.REWARD_MODELS);

        Topology t = new Topology();
        t.addSource(ROLLOUTS_SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(),
                kafka.topic(Topics.ROLLOUTS));
        t.addProcessor(INTAKE, () -> new RolloutIntakeProcessor(rollouts.deserializer(), BATCHER, DEAD_LETTER_SINK,
                config.serviceName(), metrics), ROLLOUTS_SOURCE);
        t.addProcessor(BATCHER, () -> new BatchScoringProcessor(config, rollouts.deserializer(), slot, metrics,
                SCORED_SINK, DEAD_LETTER_SINK), INTAKE);
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(PENDING_STORE),
                Serdes.Bytes(), Serdes.ByteArray()).withCachingEnabled(), BATCHER);
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(STATS_STORE),
                Serdes.String(), Serdes.ByteArray()), BATCHER);
        t.addSink(SCORED_SINK, kafka.topic(Topics.SCORED_ROLLOUTS), new ByteArraySerializer(), scored.serializer(),
                BATCHER);
        t.addSink(DEAD_LETTER_SINK, kafka.topic(Topics.DEAD_LETTERS), new ByteArraySerializer(),
                deadLetters.serializer(), INTAKE, BATCHER);
        t.addGlobalStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(REWARD_MODELS_STORE),
                        Serdes.Bytes(), Serdes.ByteArray()).withLoggingDisabled(),
                REWARD_MODELS_SOURCE, new BytesDeserializer(), new ByteArrayDeserializer(), rewardModelsTopic,
                REWARD_MODEL_UPDATES,
                () -> new RewardModelUpdateProcessor(checkpoints.deserializer(), slot, rewardModelsTopic));
        return t;
    }
}
