package io.salsa.generator;

import io.salsa.events.BlobRef;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.SoupManifest;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the generator's weights follow the learner: reads the compacted policy topic (and, before the first
 * checkpoint, the soup topic) on a background thread, downloads, verifies and loads each newer checkpoint
 * there, and hands the loaded model over for the generation loop to switch to between two batches.
 */
public final class WeightFollower extends BackgroundReader {

    private static final Logger LOG = LoggerFactory.getLogger(WeightFollower.class);
    private static final Duration POLL = Duration.ofMillis(200);

    private final KafkaSettings settings;
    private final GeneratorConfig config;
    private final SamplerFactory samplers;
    private final WeightFetcher fetcher;
    private final AtomicReference<LoadedPolicy> pending = new AtomicReference<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final AtomicLong publishedVersion = new AtomicLong(-1);
    private final AtomicLong skipped = new AtomicLong();
    private final CountDownLatch initialLoaded = new CountDownLatch(1);

    /** What the follower decided to load last: later checkpoints are compared with it. */
    private String loadedRun;
    private long loadedVersion = -1;
    /** The newest checkpoint that failed to load, so it is not retried in a loop. */
    private String failedRun;
    private long failedVersion = -1;
    private long failedSoupVersion = -1;

    public WeightFollower(KafkaSettings settings, GeneratorConfig config, SamplerFactory samplers,
                          WeightFetcher fetcher) {
        super("generator-weights");
        this.settings = settings;
        this.config = config;
        this.samplers = samplers;
        this.fetcher = fetcher;
    }

    /**
     * Waits for the weights to start from: the newest checkpoint of the followed run when the policy topic has
     * one, otherwise the configured initial weights.
     *
     * @return null if {@code timeout} passed first
     * @throws IllegalStateException if loading failed
     */
    public LoadedPolicy awaitInitial(Duration timeout) throws InterruptedException {
        boolean done = initialLoaded.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        rethrow();
        return done ? pending.getAndSet(null) : null;
    }

    /** The newest loaded weights not handed over yet, or null; the caller owns (and closes) what it takes. */
    public LoadedPolicy takeNewer() {
        rethrow();
        return pending.getAndSet(null);
    }

    /** Checkpoints skipped because their weights could not be fetched, verified or loaded. */
    public long skippedCheckpoints() {
        return skipped.get();
    }

    /** Newest policy version published on the policy topic for the followed run, or -1 before any. */
    public long publishedVersion() {
        return publishedVersion.get();
    }

    private void rethrow() {
        Throwable t = failure.get();
        if (t != null) {
            throw new IllegalStateException("loading weights failed: " + t.getMessage(), t);
        }
    }

    @Override
    protected void loop() {
        String policyTopic = settings.topic(Topics.POLICY);
        String soupTopic = settings.topic(Topics.SOUP);
        RegistryAvroSerde<PolicyCheckpoint> policySerde = settings.valueSerde(Topics.POLICY);
        RegistryAvroSerde<SoupManifest> soupSerde = settings.valueSerde(Topics.SOUP);
        try (KafkaConsumer<byte[], byte[]> c = openConsumer(settings)) {
            List<TopicPartition> parts = new ArrayList<>();
            for (String topic : List.of(policyTopic, soupTopic)) {
                for (PartitionInfo p : c.partitionsFor(topic, Duration.ofSeconds(30))) {
                    parts.add(new TopicPartition(topic, p.partition()));
                }
            }
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> ends = c.endOffsets(parts);
            PolicyCheckpoint newestCheckpoint = null;
            SoupManifest newestSoup = null;
            boolean caughtUp = false;
            boolean waitingLogged = false;
            while (running()) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(POLL)) {
                    try {
                        if (r.topic().equals(policyTopic)) {
                            PolicyCheckpoint cp = policySerde.decode(r);
                            if (cp != null && follows(cp.getRunId())) {
                                newestCheckpoint = cp;
                                publishedVersion.set(config.policyRunId() == null
                                        ? cp.getVersion() : Math.max(publishedVersion.get(), cp.getVersion()));
                            }
                        } else {
                            SoupManifest soup = soupSerde.decode(r);
                            if (soup != null && soup.getRecipe().equals(recipe())) {
                                newestSoup = soup;
                            }
                        }
                    } catch (RuntimeException e) {
                        LOG.warn("skipping an unreadable record at {}-{}@{}: {}", r.topic(), r.partition(),
                                r.offset(), e.getMessage());
                    }
                }
                if (!caughtUp) {
                    caughtUp = parts.stream().allMatch(tp -> c.position(tp) >= ends.get(tp));
                    if (!caughtUp) {
                        continue;
                    }
                }
                if (newestCheckpoint != null && isNewer(newestCheckpoint)) {
                    load(newestCheckpoint);
                } else if (loadedVersion < 0) {
                    if (config.initialWeights() instanceof GeneratorConfig.Folder folder) {
                        loadInitial(folder.dir(), "folder:" + folder.dir());
                    } else if (newestSoup != null && newestSoup.getVersion() > failedSoupVersion) {
                        String source = "soup:" + newestSoup.getRecipe() + "@" + newestSoup.getVersion();
                        try {
                            loadInitial(fetcher.fetch(newestSoup.getBlob()), source);
                        } catch (java.io.IOException | RuntimeException e) {
                            failedSoupVersion = newestSoup.getVersion();
                            skipped.incrementAndGet();
                            LOG.error("cannot load {} from {} ({}); waiting for a newer soup or a policy checkpoint",
                                    source, newestSoup.getBlob().getUri(), e.toString());
                        }
                    } else if (!waitingLogged) {
                        LOG.info("waiting for a soup of recipe '{}' on {} (or a policy checkpoint on {})",
                                recipe(), soupTopic, policyTopic);
                        waitingLogged = true;
                    }
                }
            }
        } catch (WakeupException e) {
            if (running()) {
                failure.compareAndSet(null, e);
            }
        } catch (Throwable t) {
            LOG.error("weight follower stopped: {}", t.toString(), t);
            failure.compareAndSet(null, t);
            initialLoaded.countDown();
        }
    }

    private String recipe() {
        return config.initialWeights() instanceof GeneratorConfig.Soup soup ? soup.recipe()
                : GeneratorConfig.DEFAULT_SOUP_RECIPE;
    }

    private boolean follows(String runId) {
        return config.policyRunId() == null || config.policyRunId().equals(runId);
    }

    private boolean isNewer(PolicyCheckpoint cp) {
        if (cp.getRunId().equals(failedRun) && cp.getVersion() <= failedVersion) {
            return false;
        }
        if (loadedRun == null || !loadedRun.equals(cp.getRunId())) {
            return true;
        }
        return cp.getVersion() > loadedVersion;
    }

    /**
     * Loads a checkpoint; one that cannot be fetched, verified or loaded is skipped with an error log (the
     * generator keeps its current weights and takes the next checkpoint), since a bad record must not stop it.
     */
    private void load(PolicyCheckpoint cp) throws Exception {
        BlobRef blob = cp.getBlob();
        long t0 = System.nanoTime();
        RolloutSampler sampler;
        try {
            Path dir = fetcher.fetch(blob);
            sampler = samplers.open(dir, config.device());
        } catch (java.io.IOException | RuntimeException e) {
            skipped.incrementAndGet();
            LOG.error("skipping policy {} v{}: cannot load {} ({}); keeping the current weights", cp.getRunId(),
                    cp.getVersion(), blob.getUri(), e.toString());
            failedRun = cp.getRunId(); // not retried: a later checkpoint supersedes it
            failedVersion = cp.getVersion();
            return;
        }
        loadedRun = cp.getRunId();
        loadedVersion = cp.getVersion();
        handOver(new LoadedPolicy(cp.getRunId(), cp.getVersion(), blob.getUri(), sampler));
        LOG.info("loaded policy {} v{} (step {}) from {} in {} ms (sha256 {} verified)", cp.getRunId(),
                cp.getVersion(), cp.getStep(), blob.getUri(), (System.nanoTime() - t0) / 1_000_000,
                blob.getSha256().substring(0, Math.min(12, blob.getSha256().length())));
    }

    private void loadInitial(Path dir, String source) throws Exception {
        RolloutSampler sampler = samplers.open(dir, config.device());
        loadedRun = config.stampRunId();
        loadedVersion = 0;
        handOver(new LoadedPolicy(config.stampRunId(), 0, source, sampler));
        LOG.info("loaded initial weights {} as {} v0", source, config.stampRunId());
    }

    private void handOver(LoadedPolicy policy) {
        LoadedPolicy replaced = pending.getAndSet(policy);
        if (replaced != null) {
            replaced.sampler().close(); // never used: a newer one arrived before the loop switched
        }
        initialLoaded.countDown();
    }

    @Override
    public void close() {
        super.close();
        LoadedPolicy left = pending.getAndSet(null);
        if (left != null) {
            left.sampler().close();
        }
    }
}
