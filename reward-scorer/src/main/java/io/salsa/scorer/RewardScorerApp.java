package io.salsa.scorer;

import io.salsa.events.DeadLetter;
import io.salsa.events.RewardModelCheckpoint;
import io.salsa.events.Rollout;
import io.salsa.events.ScoredRollout;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.salsa.runtime.kafka.BrokerWait;
import io.salsa.runtime.metrics.SalsaMetrics;
import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.Service;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.schemas.registry.SchemaRegistry;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.BytesDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 *
 * <p>One instance is a {@link Service}: {@link #run()} waits for a broker ({@link BrokerWait}), ensures the topics,
 * starts the streams and logs progress until {@link #stop()} (or until the streams die, which it reports as a
 * failure); {@link #close()} leaves the group at once (committing the open transaction) and stops the reward-model
 * loads. Its health is the wait for the broker, then the Kafka Streams state.
 */
public final class RewardScorerApp implements Service {

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

    private final ScorerConfig config;
    private final RewardScorerModel initial;
    private final RewardModelLoader loader;
    private final ScorerMetrics metrics = new ScorerMetrics();
    private final BrokerWait brokerWait;
    /** Counted down by {@link #stop()} or by the streams reaching a terminal state, so the run loop wakes at once. */
    private final CountDownLatch wake = new CountDownLatch(1);
    private volatile boolean stopRequested;
    private volatile Throwable failure;
    // written under the lock by startStreams and close; read without it, so a probe never waits for a close
    private volatile KafkaStreams streams;
    /** The streams' and the scorer's meters on the process registry, removed on close. */
    private final List<SalsaMetrics.Binding> meters = new ArrayList<>();
    private volatile RewardModelSlot slot;
    private ExecutorService loads;
    private boolean closed;

    /**
     * A scorer instance that serves {@code initial} (if not null) until a checkpoint of the followed name is
     * published, and loads checkpoints with {@code loader} in the background. Nothing starts before {@link #run()}.
     */
    public RewardScorerApp(ScorerConfig config, RewardScorerModel initial, RewardModelLoader loader) {
        this.config = config;
        this.initial = initial;
        this.loader = loader;
        this.brokerWait = new BrokerWait(config.kafka(), config.serviceName());
    }

    /** Builds and starts the streams of one instance; the caller closes them. */
    static KafkaStreams start(ScorerConfig config, Properties props, SchemaRegistry registry, RewardModelSlot slot,
                              ScorerMetrics metrics) {
        KafkaStreams streams = create(config, props, registry, slot, metrics);
        streams.start();
        return streams;
    }

    private static KafkaStreams create(ScorerConfig config, Properties props, SchemaRegistry registry,
                                       RewardModelSlot slot, ScorerMetrics metrics) {
        KafkaStreams streams = new KafkaStreams(buildTopology(config, registry, slot, metrics), props);
        streams.setUncaughtExceptionHandler(e -> {
            // e.g. the schema registry was unreachable: the records are still in Kafka, so retry in a new thread
            LOG.error("stream thread failed, replacing it: {}", e.toString(), e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        return streams;
    }

    /** "reward-scorer/" and the scorer id, as in its dead letters. */
    @Override
    public String name() {
        return config.serviceName();
    }

    /**
     * Waits for a broker, ensures the topics, starts the streams and logs progress every {@link #PROGRESS_EVERY} until {@link #stop()};
     * throws if the streams stop on their own (error, or shut down by Kafka Streams itself).
     */
    @Override
    public void run() throws Exception {
        try {
            if (!brokerWait.await(() -> stopRequested) || !startStreams()) {
                return;
            }
            long startNanos = System.nanoTime();
            long lastScored = 0;
            while (!wake.await(PROGRESS_EVERY.toMillis(), TimeUnit.MILLISECONDS)) {
                long scored = metrics.scored();
                double seconds = (System.nanoTime() - startNanos) / 1e9;
                LOG.info("scored {} rollouts ({}/s over the last {} s, {}/s overall), {} dead-lettered, {} batches, "
                                + "state {}, model {}", scored,
                        String.format("%.1f", (scored - lastScored) / (double) PROGRESS_EVERY.toSeconds()),
                        PROGRESS_EVERY.toSeconds(), String.format("%.1f", scored / seconds),
                        metrics.deadLettered(), metrics.batches(), state(), model());
                lastScored = scored;
            }
            if (!stopRequested && failed()) {
                throw new IllegalStateException("Kafka Streams stopped on its own: state " + state());
            }
        } catch (Exception | Error e) {
            failure = e;
            throw e;
        }
    }

    /** Starts the streams unless a stop or close came first; false when it did. */
    private synchronized boolean startStreams() {
        if (closed || stopRequested) {
            return false;
        }
        TopicAdmin.ensureTopics(config.kafka(), List.of(Topics.ROLLOUTS, Topics.SCORED_ROLLOUTS,
                Topics.REWARD_MODELS, Topics.DEAD_LETTERS));
        loads = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "reward-model-loader");
            t.setDaemon(true);
            return t;
        });
        slot = new RewardModelSlot(config.rewardModelName(), loader, loads);
        if (initial != null) {
            slot.install(initial);
        }
        streams = create(config, streamsConfig(config), config.kafka().registry(), slot, metrics);
        meters.add(SalsaMetrics.bind(new KafkaStreamsMetrics(streams)));
        meters.add(SalsaMetrics.counters(metrics, Tags.of("application_id", config.applicationId()), Map.of(
                "salsa.scorer.rollouts.scored", ScorerMetrics::scored,
                "salsa.scorer.dead.letters", ScorerMetrics::deadLettered,
                "salsa.scorer.batches", ScorerMetrics::batches,
                "salsa.scorer.model.seconds", m -> m.modelNanos() / 1e9)));
        streams.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                wake.countDown();
            }
        });
        streams.start();
        LOG.info("reward scorer {} started: application {}, rollouts from {}, model {} ({})", config.scorerId(),
                config.applicationId(), config.rolloutsTopic(), config.rewardModelName(), slot.describe());
        return true;
    }

    /** Rollouts scored, dead-lettered, batches. */
    public ScorerMetrics metrics() {
        return metrics;
    }

    /** The Kafka Streams state, {@code CREATED} before {@link #run()} started them. */
    public KafkaStreams.State state() {
        KafkaStreams s = streams;
        return s == null ? KafkaStreams.State.CREATED : s.state();
    }

    /** Which reward model is being served. */
    public String model() {
        RewardModelSlot s = slot;
        return s == null ? "none yet" : s.describe();
    }

    /** True when the streams stopped on their own (error or not running). */
    public boolean failed() {
        KafkaStreams.State s = state();
        return s == KafkaStreams.State.ERROR || s == KafkaStreams.State.NOT_RUNNING;
    }

    /** Up while the streams are RUNNING; starting while they are created or rebalancing; down otherwise. */
    @Override
    public Health health() {
        Throwable t = failure;
        if (t != null) {
            return Health.down("failed: " + t.getMessage());
        }
        Health waiting = brokerWait.waiting();
        if (waiting != null) {
            return waiting;
        }
        KafkaStreams.State s = state();
        return switch (s) {
            case RUNNING -> Health.up("Kafka Streams RUNNING, model " + model() + ", " + metrics.scored() + " scored");
            case CREATED, REBALANCING -> Health.starting("Kafka Streams " + s);
            default -> Health.down("Kafka Streams " + s);
        };
    }

    /** Asks {@link #run()} to return; the streams keep their open transaction until {@link #close()} commits it. */
    @Override
    public void stop() {
        stopRequested = true;
        wake.countDown();
    }

    /** Stops the instance cleanly: leaves the group, closes the streams and the model loads (idempotent). */
    @Override
    public synchronized void close() {
        stop();
        if (closed) {
            return;
        }
        closed = true;
        if (streams != null) {
            // leave the group: otherwise the next instance with this application id waits out the old member's
            // session timeout (45 s) before it is assigned the partitions (seen as a stalled demo on resume)
            streams.close(new KafkaStreams.CloseOptions().timeout(Duration.ofSeconds(30)).leaveGroup(true));
        }
        if (slot != null) {
            slot.close();
        }
        meters.forEach(SalsaMetrics.Binding::close);
        if (loads != null) {
            loads.shutdownNow();
        }
    }

    /** Kafka Streams settings: exactly-once v2, byte-array default serdes (every step decodes on its own). */
    static Properties streamsConfig(ScorerConfig config) {
        // application.id = topic prefix + app id; the deployment's client properties (security, …) included
        Properties p = config.kafka().streamsProps(config.applicationId());
        p.put(StreamsConfig.CLIENT_ID_CONFIG, config.applicationId() + "-" + config.scorerId());
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
