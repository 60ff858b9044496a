package io.salsa.learner;

import io.salsa.events.BatchManifest;
import io.salsa.events.BlobRef;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.SftModelKind;
import io.salsa.events.SftModelLanded;
import io.salsa.events.SoupManifest;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.service.Health;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A learner run that is open: its {@link PpoTrainer} at the state to continue from, and the Kafka clients, metrics
 * endpoint and soup watcher around it. Opening starts a fresh run (waiting for the recipe's first soup, checkpoint
 * v0) or resumes the run's newest checkpoint and re-trains the manifested steps after it, so the state is exactly
 * the one the last process had.
 */
final class OpenRun implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OpenRun.class);

    private final KafkaSettings kafka;
    private final ModelFolderStore store;
    // assigned as they are made, so close() releases whatever a failed open had made
    private LearnerConfig config;
    private PpoTrainer trainer;
    private LearnerTopics topics;
    private RolloutSource source;
    private LearnerMetrics metrics;
    private CheckpointPublisher checkpoints;
    private SoupWatcher soupWatcher;

    private OpenRun(KafkaSettings kafka, ModelFolderStore store) {
        this.kafka = kafka;
        this.store = store;
    }

    /**
     * Opens run {@code requested}: resumes it when the policy topic holds a checkpoint of its {@code run_id}, else
     * starts it fresh. Returns null when {@code stop} ended the wait for the first soup.
     */
    static OpenRun open(LearnerConfig requested, KafkaSettings kafka, ModelFolderStore store,
            PpoLearner.TrainerFactory factory, BooleanSupplier stop, Supplier<Health> health) throws IOException {
        TopicAdmin.ensureTopics(kafka, List.of(Topics.SCORED_ROLLOUTS, Topics.SOUP, Topics.POLICY, Topics.SFT_MODELS,
                Topics.LEARNER_BATCHES, Topics.METRICS, Topics.DEAD_LETTERS));
        PolicyCheckpoint latest = LearnerTopics.latestCheckpoint(kafka, requested.runId());
        SoupManifest soup = null;
        if (latest == null) {
            soup = LearnerTopics.waitForSoup(kafka, requested.soupRecipe(), stop);
            if (soup == null) {
                return null;
            }
        }
        OpenRun run = new OpenRun(kafka, store);
        try {
            if (latest != null) {
                run.resume(requested, factory, latest, health);
            } else {
                run.fresh(requested, factory, soup, health);
            }
            return run;
        } catch (IOException | RuntimeException e) {
            run.close();
            throw e;
        }
    }

    private void fresh(LearnerConfig requested, PpoLearner.TrainerFactory factory, SoupManifest soup,
            Supplier<Health> health)
            throws IOException {
        config = requested;
        Path soupFolder = store.fetchFolder(soup.getBlob());
        String initFrom;
        BlobRef initBlob;
        Path initFolder;
        if (config.initFrom().equals("soup")) {
            initFrom = "soup:" + soup.getRecipe() + "@" + soup.getVersion();
            initBlob = soup.getBlob();
            initFolder = soupFolder;
        } else {
            String modelId = config.initFrom().substring(4);
            SftModelLanded sft = LearnerTopics.latestSft(kafka, modelId);
            if (sft == null) {
                throw new IllegalArgumentException("init_from=" + config.initFrom() + ": no SFT model '" + modelId
                        + "' on topic " + kafka.topic(Topics.SFT_MODELS));
            }
            if (sft.getKind() == SftModelKind.LORA_ADAPTER) {
                throw new IllegalArgumentException("init_from=" + config.initFrom() + ": SFT model '" + modelId
                        + "' is a LoRA adapter (of base weights sha256 " + sft.getBaseWeightsSha256() + "), not a full"
                        + " model; start from a soup of it (salsa soup-builder merges adapters) or publish the merged"
                        + " model");
            }
            initFrom = "sft:" + modelId;
            initBlob = sft.getBlob();
            initFolder = store.fetchFolder(initBlob);
        }
        PolicyTrainer policy = factory.open(config.ppo(), initFolder, config.loraBaseIsSft() ? initFolder : soupFolder,
                config.device());
        LearnerState.SoupRef soupRef = new LearnerState.SoupRef(soup.getRecipe(), soup.getVersion(), soup.getBlob());
        connect(policy, PpoTrainer.initialState(PpoTrainer.Settings.of(config), soupRef, Map.of(), initFrom,
                initBlob), -1, health);
        checkpoints.publish(trainer, 0, null);
        source.startAt(trainer.state().positions());
        soupWatcher = watchSoups(soup.getVersion(), policy);
        LOG.info("run {} started from {} with soup {}@{}", config.runId(), initFrom, soup.getRecipe(),
                soup.getVersion());
    }

    private void resume(LearnerConfig requested, PpoLearner.TrainerFactory factory, PolicyCheckpoint latest,
            Supplier<Health> health)
            throws IOException {
        Path folder = store.fetchFolder(latest.getBlob());
        CheckpointCard card = CheckpointCard.read(folder);
        config = card.configWithOperationalOverrides(requested);
        LearnerState state = card.stateWithSelf(config.guard(), latest.getBlob(), folder);
        Path reference = store.fetchFolder(config.loraBaseIsSft() ? state.initBlob() : state.soup().blob());
        PolicyTrainer policy = factory.open(config.ppo(), folder, reference, config.device());
        connect(policy, state, latest.getVersion(), health);
        policy.restore(folder, store.fetchFolder(card.optimizer()).resolve(CheckpointPublisher.OPTIMIZER_FILE));
        List<BatchManifest> manifests = LearnerTopics.manifests(kafka, config.runId());
        long checkpointStep = state.step();
        if (state.lastManifest() != null && manifests.stream().noneMatch(m -> m.getStep() == checkpointStep)) {
            // crashed between the checkpoint and its manifest: write the manifest the checkpoint carries
            topics.send(Topics.LEARNER_BATCHES, config.runId(), state.lastManifest());
            LOG.info("run {}: wrote the missing manifest of step {} from its checkpoint", config.runId(),
                    checkpointStep);
        }
        int replayed = new Replay(config, kafka, store, policy).retrainAfter(trainer, manifests, checkpointStep,
                false, m -> { });
        source.startAt(trainer.state().positions());
        soupWatcher = watchSoups(trainer.state().soup().version(), policy);
        LOG.info("run {} resumed from checkpoint v{} (step {}), re-trained {} manifested step(s), now at step {}",
                config.runId(), latest.getVersion(), checkpointStep, replayed, trainer.state().step());
    }

    /**
     * The watcher that prepares the recipe's soups after {@code version} as the next reference, or null when the soup
     * is not the reference (LoRA on an SFT base: that model is the reference for the whole run).
     */
    private SoupWatcher watchSoups(long version, PolicyTrainer policy) {
        return config.loraBaseIsSft() ? null : new SoupWatcher(kafka, config.soupRecipe(), version, store, policy);
    }

    /**
     * The trainer around {@code policy} from {@code state}, and the run's Kafka clients and metrics endpoint;
     * {@code resumedFrom} is the checkpoint version resumed from (-1 for a fresh run), which retention keeps.
     */
    private void connect(PolicyTrainer policy, LearnerState state, long resumedFrom, Supplier<Health> health)
            throws IOException {
        trainer = new PpoTrainer(PpoTrainer.Settings.of(config), policy, state,
                new HeldOutSchedule(config, policy, () -> store.fetchFolder(state.initBlob())));
        topics = new LearnerTopics(kafka);
        source = new RolloutSource(config, kafka, policy.vocabSize(), policy.maxLength());
        metrics = new LearnerMetrics(config.runId(), config.metricsPort(), health);
        checkpoints = new CheckpointPublisher(config, store, topics, resumedFrom);
        if (metrics.port() > 0) {
            LOG.info("run {}: metrics on http://127.0.0.1:{}/metrics", config.runId(), metrics.port());
        }
    }

    /** The run's config: the requested one for a fresh run, the recorded one (operational keys requested) on resume. */
    LearnerConfig config() {
        return config;
    }

    PpoTrainer trainer() {
        return trainer;
    }

    LearnerTopics topics() {
        return topics;
    }

    RolloutSource source() {
        return source;
    }

    LearnerMetrics metrics() {
        return metrics;
    }

    CheckpointPublisher checkpoints() {
        return checkpoints;
    }

    /** The soup watcher, or null when soups do not reach this run's trainer ({@link LearnerConfig#loraBaseIsSft}). */
    SoupWatcher soupWatcher() {
        return soupWatcher;
    }

    /** Releases the watcher, the endpoint, the clients and the model, without any further write. */
    @Override
    public void close() {
        if (soupWatcher != null) {
            soupWatcher.close();
        }
        if (metrics != null) {
            metrics.close();
        }
        if (source != null) {
            source.close();
        }
        if (topics != null) {
            topics.close();
        }
        if (trainer != null) {
            trainer.close();
        }
    }
}
