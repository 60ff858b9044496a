package io.salsa.generator;

import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.micrometer.core.instrument.Tags;
import io.salsa.runtime.kafka.BrokerWait;
import io.salsa.runtime.metrics.SalsaMetrics;
import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.Service;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rollout generator service: consumes prompts as one member of a consumer group, samples {@code n}
 * responses per prompt in batches from the newest policy it has loaded, and publishes {@link Rollout}s.
 *
 * <p>Guarantees: a prompt's rollouts (or its dead letter) and its offset are committed in one Kafka transaction
 * ({@link OutputTransaction}; transactional id {@link #transactionalId}), so for read_committed readers — every
 * service — each prompt has its {@code n} rollouts exactly once, whenever the generator dies: a crash regenerates
 * the prompts of its open transaction, whose outputs are aborted, and loses none; every
 * rollout is stamped with exactly the policy version that produced it (weights switch only between batches);
 * the prompt consumer is paused, not drained, while the {@link StalenessGate} says the learner is too far
 * behind; each rollout's seed depends only on (seed, prompt, epoch, sample, version).
 *
 * <p>This class owns the loop, the prompt consumer and its rebalances; {@link BatchGenerator} samples each batch
 * and publishes its rollouts and dead letters.
 *
 * <p>Lifecycle ({@link Service}): {@link #run()} owns every client and closes them as it returns; {@link #stop()}
 * ends the loop after the current batch, whose transaction is committed first.
 */
public final class GeneratorApp implements Service {

    static final String SERVICE = "rollout-generator";
    private static final Logger LOG = LoggerFactory.getLogger(GeneratorApp.class);
    private static final Duration IDLE_POLL = Duration.ofMillis(100);
    private static final long LOG_EVERY_NANOS = 10_000_000_000L;

    private final KafkaSettings settings;
    private final GeneratorConfig config;
    private final SamplerFactory samplers;
    private final WeightFetcher fetcher;
    private final GeneratorStats stats = new GeneratorStats();
    private final BrokerWait brokerWait;
    private final OffsetTracker tracker = new OffsetTracker();
    private final ArrayDeque<BatchGenerator.Work> work = new ArrayDeque<>();
    private final AtomicReference<Throwable> sendFailure = new AtomicReference<>();
    private volatile boolean running = true;
    private volatile boolean paused;
    /** Set by the first rebalance that gave this member its share of the prompts (possibly none). */
    private volatile boolean assigned;
    private volatile int assignedPartitions;
    private volatile Throwable failure;
    private volatile KafkaConsumer<byte[], byte[]> consumer;
    private volatile LoadedPolicy policy;
    private volatile WeightFollower weights;

    public GeneratorApp(KafkaSettings settings, GeneratorConfig config, SamplerFactory samplers,
                        WeightFetcher fetcher) {
        this.settings = settings;
        this.config = config;
        this.samplers = samplers;
        this.fetcher = fetcher;
        this.brokerWait = new BrokerWait(settings, name());
    }

    /** {@value #SERVICE} and the generator id, so several generators in one process are told apart. */
    @Override
    public String name() {
        return SERVICE + "/" + config.generatorId();
    }

    /** The instance's counters. */
    public GeneratorStats stats() {
        return stats;
    }

    /** True while the prompt consumer is paused at the staleness bound. */
    public boolean paused() {
        return paused;
    }

    /** Version of the weights the next batch will use, or -1 before the first weights are loaded. */
    public long policyVersion() {
        LoadedPolicy p = policy;
        return p == null ? -1 : p.version();
    }

    /** Checkpoints skipped because their weights could not be fetched, verified or loaded (0 before the run). */
    public long skippedCheckpoints() {
        WeightFollower w = weights;
        return w == null ? 0 : w.skippedCheckpoints();
    }

    /**
     * The producer's transactional id: the deployment's prefix, the service and the generator id, so a restarted
     * instance (same state folder, same id) aborts what its predecessor left open, and instances never fence each
     * other. A secured cluster must grant the service's user WRITE and DESCRIBE on it (prefix ACLs on the deployment
     * prefix cover it).
     */
    String transactionalId() {
        return settings.groupId(SERVICE + ":" + config.generatorId());
    }

    /** Consumer properties: bounded polls so fetched-but-unstarted work stays small, and room for slow batches. */
    Properties consumerProps() {
        Properties p = settings.consumerProps(config.consumerGroup());
        int promptsPerBatch = Math.max(1, config.batchSize() / config.samplesPerPrompt());
        p.setProperty(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(Math.max(2, 2 * promptsPerBatch)));
        p.setProperty(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, "600000");
        p.setProperty(ConsumerConfig.CLIENT_ID_CONFIG, config.generatorId() + "-prompts");
        return p;
    }

    /**
     * Runs until {@link #stop()} (or a fatal error, which is rethrown after the clients are closed without
     * committing unacknowledged prompts).
     */
    @Override
    public void run() throws Exception {
        try (SalsaMetrics.Binding counters = SalsaMetrics.counters(stats, Tags.of("generator_id",
                config.generatorId()), Map.of(
                        "salsa.generator.prompts", GeneratorStats::prompts,
                        "salsa.generator.rollouts.sent", GeneratorStats::rolloutsSent,
                        "salsa.generator.rollouts.acked", GeneratorStats::rolloutsAcked,
                        "salsa.generator.dead.letters", GeneratorStats::deadLetters,
                        "salsa.generator.tokens", GeneratorStats::tokens,
                        "salsa.generator.batches", GeneratorStats::batches,
                        "salsa.generator.transactions", GeneratorStats::transactions,
                        "salsa.generator.transactions.aborted", GeneratorStats::abortedTransactions,
                        "salsa.generator.weight.switches", GeneratorStats::weightSwitches,
                        "salsa.generator.model.seconds", s -> s.modelNanos() / 1e9));
             SalsaMetrics.Binding version = SalsaMetrics.gauges(this, Tags.of("generator_id", config.generatorId()),
                     Map.of("salsa.generator.policy.version", GeneratorApp::policyVersion))) {
            generateUntilStopped();
        } catch (Exception | Error e) {
            failure = e;
            throw e;
        }
    }

    private void generateUntilStopped() throws Exception {
        if (!brokerWait.await(() -> !running)) {
            return;
        }
        TopicAdmin.ensureTopics(settings, List.of(Topics.PROMPTS, Topics.ROLLOUTS, Topics.DEAD_LETTERS,
                Topics.POLICY, Topics.SOUP, Topics.LEARNER_BATCHES));
        String promptsTopic = settings.topic(Topics.PROMPTS);
        RegistryAvroSerde<Prompt> promptSerde = settings.valueSerde(Topics.PROMPTS);
        Properties producerProps = settings.producerProps();
        producerProps.setProperty("client.id", config.generatorId() + "-rollouts");
        producerProps.setProperty(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId());
        StalenessGate gate = config.gate();
        try (WeightFollower follower = new WeightFollower(settings, config, samplers, fetcher);
             LearnerWatch watch = new LearnerWatch(settings, config, stats::offsetsSent,
                     stats::offsetsAcked, follower::publishedVersion, Duration.ofMillis(1000));
             KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerProps, new StringSerializer(),
                     new ByteArraySerializer());
             KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerProps(), new ByteArrayDeserializer(),
                     new ByteArrayDeserializer());
             SalsaMetrics.Binding producerMetrics = SalsaMetrics.monitor(producer);
             SalsaMetrics.Binding consumerMetrics = SalsaMetrics.monitor(c)) {
            weights = follower;
            consumer = c;
            OutputTransaction transaction = new OutputTransaction(producer, tracker, stats, sendFailure,
                    transactionalId());
            BatchGenerator generator = new BatchGenerator(settings, config, stats, tracker, sendFailure, producer,
                    transaction);
            if (!transaction.init(() -> !running)) {
                return;
            }
            generator.warmUp();
            follower.start();
            watch.start();
            while (running && policy == null) {
                policy = follower.awaitInitial(Duration.ofMillis(500));
            }
            while (running && !watch.measured()) {
                Thread.sleep(20); // never generate before the learner's backlog is known
            }
            if (!running) {
                return;
            }
            LOG.info("generator {} starts with {} v{} ({}), n={}, batch={}, group={}", config.generatorId(),
                    policy.runId(), policy.version(), policy.source(), config.samplesPerPrompt(), config.batchSize(),
                    config.consumerGroup());
            c.subscribe(List.of(promptsTopic), new Rebalance());
            long lastLog = System.nanoTime();
            while (running) {
                LoadedPolicy newer = follower.takeNewer();
                if (newer != null) {
                    LoadedPolicy old = policy;
                    policy = newer;
                    old.sampler().close();
                    stats.weightSwitches.incrementAndGet();
                    LOG.info("switched to {} v{} ({}) between batches", newer.runId(), newer.version(), newer.source());
                }
                boolean pause = gate.shouldPause(watch.progress(), policy.version());
                if (pause != paused) {
                    if (pause) {
                        c.pause(c.assignment());
                        stats.pauses.incrementAndGet();
                        LOG.info("paused prompts at the staleness bound: {} (expected staleness {} versions)",
                                watch.progress(), StalenessGate.expectedStaleness(watch.progress(), policy.version()));
                    } else {
                        c.resume(c.paused());
                        LOG.info("resumed prompts: {}", watch.progress());
                    }
                    paused = pause;
                }
                if (paused || work.size() < 2 * config.batchSize()) {
                    // keep up to two batches queued so the next batch never waits for a fetch round trip
                    long p0 = System.nanoTime();
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(paused || work.isEmpty() ? IDLE_POLL : Duration.ZERO)) {
                        intake(r, promptSerde, generator);
                    }
                    if (!paused && !work.isEmpty() && stats.firstBatchStartNanos() != 0) {
                        stats.pollNanos.addAndGet(System.nanoTime() - p0);
                    }
                    // dead letters of this poll: committed now, so no transaction stays open across a model call
                    commit(transaction, c);
                }
                long now = System.nanoTime();
                if (now - lastLog > LOG_EVERY_NANOS) {
                    logProgress(now - lastLog);
                    lastLog = now;
                }
                if (!paused && !work.isEmpty()) {
                    generator.generate(policy, work);
                    commit(transaction, c);
                }
            }
            commit(transaction, c);
        } finally {
            LoadedPolicy p = policy;
            if (p != null) {
                p.sampler().close();
            }
            consumer = null;
        }
    }

    private long lastLoggedTokens;

    private void logProgress(long elapsedNanos) {
        long tokens = stats.tokens();
        LOG.info("generator {}: {} prompts, {} rollouts acked, {} dead letters, {} tokens ({} tokens/s), policy v{}{}",
                config.generatorId(), stats.prompts(), stats.rolloutsAcked(), stats.deadLetters(), tokens,
                String.format("%.1f", (tokens - lastLoggedTokens) / (elapsedNanos / 1e9)), policyVersion(),
                paused ? ", PAUSED at the staleness bound" : "");
        lastLoggedTokens = tokens;
    }

    /**
     * Commits the open transaction with the offsets it finishes; after an abort, forgets every queued and
     * unfinished prompt and goes back to the group's committed offsets, so the aborted prompts are regenerated.
     */
    private void commit(OutputTransaction transaction, KafkaConsumer<byte[], byte[]> c) {
        if (transaction.commit(c, () -> !running) == OutputTransaction.Outcome.ABORTED) {
            Set<TopicPartition> owned = c.assignment();
            work.removeIf(w -> owned.contains(w.tp()));
            tracker.forget(owned);
            Map<TopicPartition, OffsetAndMetadata> committed = c.committed(owned);
            for (TopicPartition tp : owned) {
                OffsetAndMetadata at = committed.get(tp);
                if (at != null) {
                    c.seek(tp, at);
                } else {
                    c.seekToBeginning(List.of(tp)); // nothing committed yet: as auto.offset.reset=earliest
                }
            }
            LOG.info("rewound {} prompt partition(s) to their committed offsets after an aborted transaction",
                    owned.size());
        }
    }

    private void intake(ConsumerRecord<byte[], byte[]> r, RegistryAvroSerde<Prompt> promptSerde,
                        BatchGenerator generator) {
        stats.prompts.incrementAndGet();
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        Prompt prompt;
        try {
            prompt = promptSerde.decode(r);
        } catch (RuntimeException e) {
            generator.deadLetter(r, e, tp);
            return;
        }
        if (prompt == null) {
            generator.deadLetter(r, new IllegalArgumentException("empty-prompt: a null (tombstone) prompt value"),
                    tp);
            return;
        }
        RolloutSampler sampler = policy.sampler();
        PromptCheck.Result result = PromptCheck.check(prompt, config.sampling().maxNewTokens(),
                sampler.maxPositions(), sampler.vocabSize(), sampler::encode, sampler::encodeChat);
        if (result instanceof PromptCheck.Invalid invalid) {
            generator.deadLetter(r, new IllegalArgumentException(invalid.code() + ": " + invalid.message()), tp);
            return;
        }
        int[] ids = ((PromptCheck.Ok) result).ids();
        tracker.register(tp, r.offset(), config.samplesPerPrompt());
        for (int i = 0; i < config.samplesPerPrompt(); i++) {
            work.add(new BatchGenerator.Work(tp, r.offset(), prompt, ids, i));
        }
    }

    /**
     * On a rebalance: the partitions leaving have nothing to commit (the loop commits its transaction before every
     * poll, and rebalances run inside poll), so their queued and unfinished prompts are dropped for the new owner.
     */
    private final class Rebalance implements ConsumerRebalanceListener {

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            drop(partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            drop(partitions);
        }

        private void drop(Collection<TopicPartition> partitions) {
            Set<TopicPartition> gone = new HashSet<>(partitions);
            work.removeIf(w -> gone.contains(w.tp()));
            tracker.forget(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            KafkaConsumer<byte[], byte[]> c = consumer;
            if (paused && c != null) {
                c.pause(partitions);
            }
            if (c != null) {
                assignedPartitions = c.assignment().size();
            }
            assigned = true;
        }
    }

    /**
     * Down when the run failed (weights could not be loaded, a rollout could not be published, Kafka refused) or
     * was stopped; starting until the initial weights are loaded and the group gave this member its prompts.
     */
    @Override
    public Health health() {
        Throwable t = failure;
        if (t == null) {
            t = sendFailure.get();
        }
        if (t != null) {
            return Health.down("failed: " + t.getMessage());
        }
        if (!running) {
            return Health.down("stopped");
        }
        Health waiting = brokerWait.waiting();
        if (waiting != null) {
            return waiting;
        }
        if (policy == null) {
            return Health.starting("waiting for the initial weights");
        }
        if (!assigned) {
            return Health.starting("waiting for the prompts partitions of group " + config.consumerGroup());
        }
        return Health.up("policy v" + policyVersion() + ", " + assignedPartitions + " prompts partition(s)"
                + (paused ? ", paused at the staleness bound" : ""));
    }

    /** Ends the loop after the current batch; {@link #run()} then commits its transaction. */
    @Override
    public void stop() {
        running = false;
    }

    /**
     * Nothing to release beyond what {@link #run()} closes as it returns; asks a still running loop to stop, so
     * closing never leaves a generator producing.
     */
    @Override
    public void close() {
        stop();
    }
}
