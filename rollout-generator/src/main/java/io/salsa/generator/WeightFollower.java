package io.salsa.generator;

import io.salsa.events.BlobRef;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.PolicyKind;
import io.salsa.events.SoupManifest;
import io.salsa.model.lm.lora.LoraAdapter;
import io.salsa.runtime.follow.LatestModelFollower;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the generator's weights follow the learner: reads the compacted policy topic (and, before the first
 * checkpoint, the soup topic) with {@link KafkaLog} followers and lets a {@link LatestModelFollower} download, verify
 * and load each newer checkpoint off the generation thread, which switches to it between two batches.
 *
 * <p>Until the followed run has a checkpoint the generator starts from its initial weights: the configured folder
 * (which must load: a bad one stops the generator) or the newest soup of its recipe (one that fails is skipped).
 * A checkpoint that cannot be fetched, verified or loaded is skipped with an error log: the generator keeps its
 * weights and takes the next checkpoint, since a bad record must not stop it. A LoRA adapter checkpoint
 * ({@code kind = LORA_ADAPTER}) is loaded as its base (the record's {@code base} blob, verified by sha256) plus the
 * adapter; an adapter whose recorded base sha256 is not that base's is skipped the same way.
 */
public final class WeightFollower implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WeightFollower.class);

    /**
     * Weights the generator may switch to: a policy checkpoint, or initial weights (a soup or a local folder).
     *
     * @param blob   null for a local folder
     * @param folder null unless the weights are a local folder
     */
    private record Weights(String runId, long version, long step, String source, BlobRef blob, Path folder,
                           boolean initial, BlobRef base) {

        /** A checkpoint; a LoRA adapter checkpoint also names its base (the soup), else {@code base} is null. */
        static Weights of(PolicyCheckpoint cp) {
            BlobRef base = cp.getKind() == PolicyKind.LORA_ADAPTER ? cp.getBase() : null;
            return new Weights(cp.getRunId(), cp.getVersion(), cp.getStep(), cp.getBlob().getUri(), cp.getBlob(),
                    null, false, base);
        }

        /** Initial weights never replace loaded ones; any checkpoint replaces initial ones; then newer versions. */
        static boolean supersedes(Weights offered, Weights accepted) {
            if (accepted == null) {
                return true;
            }
            if (offered.initial()) {
                return false;
            }
            return accepted.initial() || !offered.runId().equals(accepted.runId())
                    || offered.version() > accepted.version();
        }

        String describe() {
            return initial ? "initial weights " + source + " as " + runId + " v0"
                    : "policy " + runId + " v" + version + " (step " + step + ") from " + source;
        }
    }

    private final KafkaSettings settings;
    private final GeneratorConfig config;
    private final SamplerFactory samplers;
    private final WeightFetcher fetcher;
    private final LatestModelFollower<Weights, LoadedPolicy> follower;
    private final Decider decider;
    private final AtomicLong publishedVersion = new AtomicLong(-1);
    private KafkaLog.Follower policyReader;
    private KafkaLog.Follower soupReader;

    public WeightFollower(KafkaSettings settings, GeneratorConfig config, SamplerFactory samplers,
                          WeightFetcher fetcher) {
        this.settings = settings;
        this.config = config;
        this.samplers = samplers;
        this.fetcher = fetcher;
        this.decider = new Decider(); // after config: it reads the initial-weights setting
        this.follower = new LatestModelFollower<>("generator-weights", Weights::describe, Weights::supersedes,
                this::open, null, new LatestModelFollower.Listener<>() {
                    @Override
                    public void failed(LatestModelFollower.Failure<Weights> failure) {
                        decider.loadFailed(); // with no weights yet, the initial ones are the fallback
                    }
                });
    }

    /** Starts reading the policy and soup topics, each from its beginning on its own thread. */
    public void start() {
        String policyTopic = settings.topic(Topics.POLICY);
        String soupTopic = settings.topic(Topics.SOUP);
        RegistryAvroSerde<PolicyCheckpoint> policySerde = settings.valueSerde(Topics.POLICY);
        RegistryAvroSerde<SoupManifest> soupSerde = settings.valueSerde(Topics.SOUP);
        policyReader = KafkaLog.follow(settings, policyTopic, KafkaLog.ALL, "generator-weights-policy",
                r -> decode(r, policySerde).ifPresent(decider::checkpoint), decider::policyCaughtUp);
        soupReader = KafkaLog.follow(settings, soupTopic, KafkaLog.ALL, "generator-weights-soup",
                r -> decode(r, soupSerde).ifPresent(decider::soup), decider::soupCaughtUp);
    }

    private static <V extends SpecificRecord> Optional<V> decode(ConsumerRecord<String, byte[]> r,
                                                                 RegistryAvroSerde<V> serde) {
        try {
            return Optional.ofNullable(KafkaLog.decode(serde, r));
        } catch (RuntimeException e) {
            LOG.warn("skipping an unreadable record at {}-{}@{}: {}", r.topic(), r.partition(), r.offset(),
                    e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Waits for the weights to start from: the newest checkpoint of the followed run when the policy topic has
     * one, otherwise the configured initial weights.
     *
     * @return null if {@code timeout} passed first
     * @throws IllegalStateException if loading failed (a topic cannot be read, the initial folder cannot load)
     */
    public LoadedPolicy awaitInitial(Duration timeout) throws InterruptedException {
        checkReaders();
        LatestModelFollower.Loaded<Weights, LoadedPolicy> loaded = follower.await(timeout);
        return loaded == null ? null : loaded.model();
    }

    /**
     * The newest loaded weights not handed over yet, or null; the caller owns (and closes) what it takes.
     *
     * @throws IllegalStateException if loading failed
     */
    public LoadedPolicy takeNewer() {
        checkReaders();
        LatestModelFollower.Loaded<Weights, LoadedPolicy> loaded = follower.takeIfNewer();
        return loaded == null ? null : loaded.model();
    }

    /** Checkpoints (and initial soups) skipped because their weights could not be fetched, verified or loaded. */
    public long skippedCheckpoints() {
        return follower.failures();
    }

    /** Newest policy version published on the policy topic for the followed run, or -1 before any. */
    public long publishedVersion() {
        return publishedVersion.get();
    }

    /** A reader that died (its error is logged) leaves the generator unable to follow the learner: stop it. */
    private void checkReaders() {
        for (KafkaLog.Follower reader : new KafkaLog.Follower[] {policyReader, soupReader}) {
            if (reader != null && !reader.running()) {
                follower.fail(new IllegalStateException("reading the policy or soup topic stopped (see the log)"));
            }
        }
    }

    /** Runs on the follower's loader thread: fetch (verified), then open the sampler. */
    private LoadedPolicy open(Weights w) throws Exception {
        try {
            Path dir = w.folder() != null ? w.folder() : fetcher.fetch(w.blob());
            if (w.base() != null) {
                // an adapter-only checkpoint: its base (verified against the record's sha256) plus the adapter
                Path baseDir = fetcher.fetch(w.base());
                return new LoadedPolicy(w.runId(), w.version(), w.source(),
                        samplers.openAdapter(baseDir, dir, config.device()));
            }
            if (w.blob() != null && Files.isRegularFile(dir.resolve(LoraAdapter.WEIGHTS_FILE))) {
                throw new IOException(w.describe() + " holds a LoRA adapter but its record names no base");
            }
            return new LoadedPolicy(w.runId(), w.version(), w.source(), samplers.open(dir, config.device()));
        } catch (Exception e) {
            if (w.folder() != null) {
                follower.fail(e); // the configured initial folder is a setup error, not a bad record
            }
            throw e;
        }
    }

    private String recipe() {
        return config.initialWeights() instanceof GeneratorConfig.Soup soup ? soup.recipe()
                : GeneratorConfig.DEFAULT_SOUP_RECIPE;
    }

    private boolean follows(String runId) {
        return config.policyRunId() == null || config.policyRunId().equals(runId);
    }

    /**
     * Keeps the newest checkpoint of the followed run and the newest soup of the recipe; once both topics were read
     * to their end, offers a new checkpoint, or else initial weights while the generator has none. Called by both
     * reader threads and, after a failed load, the loader thread.
     */
    private final class Decider {
        private boolean policyCaughtUp;
        private boolean soupCaughtUp;
        private PolicyCheckpoint newestCheckpoint;
        private boolean checkpointToOffer;
        private SoupManifest newestSoup;
        /** A soup not yet taken for loading: offered at each decision until accepted (a checkpoint may fail). */
        private boolean soupToOffer;
        private boolean folderToOffer = config.initialWeights() instanceof GeneratorConfig.Folder;
        private boolean waitingLogged;

        synchronized void checkpoint(PolicyCheckpoint cp) {
            if (follows(cp.getRunId())) {
                newestCheckpoint = cp;
                checkpointToOffer = true;
                publishedVersion.set(config.policyRunId() == null
                        ? cp.getVersion() : Math.max(publishedVersion.get(), cp.getVersion()));
                decide();
            }
        }

        synchronized void soup(SoupManifest soup) {
            if (soup.getRecipe().equals(recipe())) {
                newestSoup = soup;
                soupToOffer = true;
                decide();
            }
        }

        synchronized void policyCaughtUp() {
            policyCaughtUp = true;
            decide();
        }

        synchronized void soupCaughtUp() {
            soupCaughtUp = true;
            decide();
        }

        synchronized void loadFailed() {
            decide();
        }

        private void decide() {
            if (!policyCaughtUp || !soupCaughtUp) {
                return; // the whole history first: never load weights a later record already replaced
            }
            if (checkpointToOffer) {
                checkpointToOffer = false;
                follower.offer(Weights.of(newestCheckpoint));
            }
            // initial weights are refused while the generator has (or is loading) any weights
            if (config.initialWeights() instanceof GeneratorConfig.Folder folder) {
                if (folderToOffer && follower.offer(new Weights(config.stampRunId(), 0, 0, "folder:" + folder.dir(),
                        null, folder.dir(), true, null))) {
                    folderToOffer = false;
                }
            } else if (soupToOffer) {
                String source = "soup:" + newestSoup.getRecipe() + "@" + newestSoup.getVersion();
                if (follower.offer(new Weights(config.stampRunId(), 0, 0, source, newestSoup.getBlob(), null, true, null))) {
                    soupToOffer = false;
                }
            } else if (newestSoup == null && newestCheckpoint == null && !waitingLogged) {
                LOG.info("waiting for a soup of recipe '{}' on {} (or a policy checkpoint on {})", recipe(),
                        settings.topic(Topics.SOUP), settings.topic(Topics.POLICY));
                waitingLogged = true;
            }
        }
    }

    @Override
    public void close() {
        for (KafkaLog.Follower reader : new KafkaLog.Follower[] {policyReader, soupReader}) {
            if (reader != null) {
                reader.close();
            }
        }
        follower.close();
    }
}
