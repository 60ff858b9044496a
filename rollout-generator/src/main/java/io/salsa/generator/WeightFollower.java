package io.salsa.generator;

import io.salsa.events.BlobRef;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.SoupManifest;
import io.salsa.runtime.follow.LatestModelFollower;
import io.salsa.runtime.follow.TopicTail;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the generator's weights follow the learner: reads the compacted policy topic (and, before the first
 * checkpoint, the soup topic) and lets a {@link LatestModelFollower} download, verify and load each newer checkpoint
 * off the generation thread, which switches to it between two batches.
 *
 * <p>Until the followed run has a checkpoint the generator starts from its initial weights: the configured folder
 * (which must load: a bad one stops the generator) or the newest soup of its recipe (one that fails is skipped).
 * A checkpoint that cannot be fetched, verified or loaded is skipped with an error log: the generator keeps its
 * weights and takes the next checkpoint, since a bad record must not stop it.
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
                           boolean initial) {

        static Weights of(PolicyCheckpoint cp) {
            return new Weights(cp.getRunId(), cp.getVersion(), cp.getStep(), cp.getBlob().getUri(), cp.getBlob(),
                    null, false);
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
    private final AtomicLong publishedVersion = new AtomicLong(-1);
    private TopicTail tail;

    public WeightFollower(KafkaSettings settings, GeneratorConfig config, SamplerFactory samplers,
                          WeightFetcher fetcher) {
        this.settings = settings;
        this.config = config;
        this.samplers = samplers;
        this.fetcher = fetcher;
        this.follower = new LatestModelFollower<>("generator-weights", Weights::describe, Weights::supersedes,
                this::open);
    }

    /** Starts reading the policy and soup topics. */
    public void start() {
        String policyTopic = settings.topic(Topics.POLICY);
        String soupTopic = settings.topic(Topics.SOUP);
        tail = TopicTail.start("generator-weights-reader", settings, List.of(policyTopic, soupTopic),
                new Reader(policyTopic, soupTopic));
    }

    /**
     * Waits for the weights to start from: the newest checkpoint of the followed run when the policy topic has
     * one, otherwise the configured initial weights.
     *
     * @return null if {@code timeout} passed first
     * @throws IllegalStateException if loading failed (the topics cannot be read, the initial folder cannot load)
     */
    public LoadedPolicy awaitInitial(Duration timeout) throws InterruptedException {
        LatestModelFollower.Loaded<Weights, LoadedPolicy> loaded = follower.await(timeout);
        return loaded == null ? null : loaded.model();
    }

    /**
     * The newest loaded weights not handed over yet, or null; the caller owns (and closes) what it takes.
     *
     * @throws IllegalStateException if loading failed
     */
    public LoadedPolicy takeNewer() {
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

    /** Runs on the follower's loader thread: fetch (verified), then open the sampler. */
    private LoadedPolicy open(Weights w) throws Exception {
        try {
            Path dir = w.folder() != null ? w.folder() : fetcher.fetch(w.blob());
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
     * Keeps the newest checkpoint of the followed run and the newest soup of the recipe; once the topics were read
     * to their end, offers a new checkpoint, or else initial weights while the generator has none.
     */
    private final class Reader implements TopicTail.Handler {
        private final String policyTopic;
        private final String soupTopic;
        private final RegistryAvroSerde<PolicyCheckpoint> policySerde = settings.valueSerde(Topics.POLICY);
        private final RegistryAvroSerde<SoupManifest> soupSerde = settings.valueSerde(Topics.SOUP);
        private PolicyCheckpoint newestCheckpoint;
        private boolean checkpointToOffer;
        private SoupManifest newestSoup;
        /** A soup not yet taken for loading: offered at each boundary until accepted (a checkpoint may fail). */
        private boolean soupToOffer;
        private boolean folderToOffer = config.initialWeights() instanceof GeneratorConfig.Folder;
        private boolean waitingLogged;

        Reader(String policyTopic, String soupTopic) {
            this.policyTopic = policyTopic;
            this.soupTopic = soupTopic;
        }

        @Override
        public void record(ConsumerRecord<String, byte[]> r) {
            try {
                if (r.topic().equals(policyTopic)) {
                    PolicyCheckpoint cp = policySerde.deserialize(r.topic(), r.value());
                    if (cp != null && follows(cp.getRunId())) {
                        newestCheckpoint = cp;
                        checkpointToOffer = true;
                        publishedVersion.set(config.policyRunId() == null
                                ? cp.getVersion() : Math.max(publishedVersion.get(), cp.getVersion()));
                    }
                } else {
                    SoupManifest soup = soupSerde.deserialize(r.topic(), r.value());
                    if (soup != null && soup.getRecipe().equals(recipe())) {
                        newestSoup = soup;
                        soupToOffer = true;
                    }
                }
            } catch (RuntimeException e) {
                LOG.warn("skipping an unreadable record at {}-{}@{}: {}", r.topic(), r.partition(), r.offset(),
                        e.getMessage());
            }
        }

        @Override
        public void failed(Throwable error) {
            follower.fail(error); // without the topics the generator cannot follow the learner: stop it
        }

        @Override
        public void polled(boolean caughtUp) {
            if (!caughtUp) {
                return; // the whole history first: never load weights a later record already replaced
            }
            if (checkpointToOffer) {
                checkpointToOffer = false;
                follower.offer(Weights.of(newestCheckpoint));
            }
            // initial weights are refused while the generator has (or is loading) any weights
            if (config.initialWeights() instanceof GeneratorConfig.Folder folder) {
                if (folderToOffer && follower.offer(new Weights(config.stampRunId(), 0, 0, "folder:" + folder.dir(),
                        null, folder.dir(), true))) {
                    folderToOffer = false;
                }
            } else if (soupToOffer) {
                String source = "soup:" + newestSoup.getRecipe() + "@" + newestSoup.getVersion();
                if (follower.offer(new Weights(config.stampRunId(), 0, 0, source, newestSoup.getBlob(), null, true))) {
                    soupToOffer = false;
                }
            } else if (newestSoup == null && newestCheckpoint == null && !waitingLogged) {
                LOG.info("waiting for a soup of recipe '{}' on {} (or a policy checkpoint on {})", recipe(),
                        soupTopic, policyTopic);
                waitingLogged = true;
            }
        }
    }

    @Override
    public void close() {
        if (tail != null) {
            tail.close();
        }
        follower.close();
    }
}
