package io.salsa.learner;

import ai.djl.Device;
import io.salsa.events.BatchManifest;
import io.salsa.events.BlobRef;
import io.salsa.events.OffsetRange;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.ScoredRollout;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.io.FileOps;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-trains recorded steps from their manifests: re-reads exactly each manifest's offset ranges, installs the soup
 * the step used, and steps the {@link PpoTrainer} — deterministic, so the state and weights come out as the
 * original run's. A restart uses it to catch up from its checkpoint; {@link #run} rebuilds a whole run from its
 * first step and compares every checkpoint's weights bit for bit.
 */
public final class Replay {

    private static final Logger LOG = LoggerFactory.getLogger(Replay.class);

    /**
     * One checkpoint a replay reproduced (or not). The comparison is with the sha256 of its weights recorded in the
     * newest card, which outlives the checkpoint's blobs: a checkpoint whose blobs the run's retention deleted is
     * still compared, and reported as not retained.
     *
     * @param retained whether the checkpoint's policy blob is still in the blob store
     */
    public record Checkpoint(long version, long step, String expectedSha256, String actualSha256, boolean retained) {
        public boolean identical() {
            return expectedSha256.equals(actualSha256);
        }
    }

    /** What a replay did: the steps it re-trained and every checkpoint it compared. */
    public record Report(String runId, long steps, List<Checkpoint> checkpoints) {
        public boolean allIdentical() {
            return checkpoints.stream().allMatch(Checkpoint::identical);
        }

        /** The versions whose blobs retention deleted (compared all the same, by their recorded sha256). */
        public List<Long> notRetained() {
            return checkpoints.stream().filter(c -> !c.retained()).map(Checkpoint::version).toList();
        }
    }

    /** Called after each re-trained step. */
    @FunctionalInterface
    interface StepObserver {
        void afterStep(BatchManifest manifest) throws IOException;
    }

    private final LearnerConfig config;
    private final KafkaSettings kafka;
    private final ModelFolderStore store;
    private final BatchAssembler assembler;
    private final RegistryAvroSerde<ScoredRollout> serde;

    /** Re-trains steps of run {@code config} for {@code policy} (its vocabulary and context filter the records). */
    Replay(LearnerConfig config, KafkaSettings kafka, ModelFolderStore store, PolicyTrainer policy) {
        this.config = config;
        this.kafka = kafka;
        this.store = store;
        // form() decides which groups were dropped from the re-read records alone: this clock is never read
        this.assembler = BatchAssembler.of(config, policy.vocabSize(), policy.maxLength(), () -> {
            throw new IllegalStateException("a replay takes its decisions from the manifest, not from the clock");
        });
        this.serde = kafka.valueSerde(Topics.SCORED_ROLLOUTS);
    }

    /**
     * Re-trains the manifests after step {@code afterStep}, which must continue it without a gap.
     *
     * @param fromStart whether the trainer started at step 0 (then it passes over checkpoints taken between steps)
     * @return how many steps were re-trained
     */
    int retrainAfter(PpoTrainer trainer, List<BatchManifest> manifests, long afterStep, boolean fromStart,
            StepObserver observer) throws IOException {
        long expected = afterStep + 1;
        for (BatchManifest m : manifests) {
            if (m.getStep() <= afterStep) {
                continue;
            }
            if (m.getStep() != expected) {
                throw new IllegalStateException("run " + config.runId() + ": manifests jump from step "
                        + (expected - 1) + " to " + m.getStep());
            }
            retrain(trainer, m, fromStart);
            observer.afterStep(m);
            expected++;
        }
        return (int) (expected - afterStep - 1);
    }

    /** Re-trains the manifested step {@code m} by re-reading exactly its ranges. */
    private void retrain(PpoTrainer trainer, BatchManifest m, boolean fromStart) throws IOException {
        if (fromStart && m.getPolicyVersionBefore() > trainer.state().policyVersion()) {
            trainer.passCheckpoint(m.getPolicyVersionBefore());
        }
        LearnerState state = trainer.state();
        if (m.getPolicyVersionBefore() != state.policyVersion()) {
            throw new IllegalStateException("manifest of step " + m.getStep() + " starts from policy version "
                    + m.getPolicyVersionBefore() + ", the rebuilt state is at " + state.policyVersion());
        }
        if (m.getSoupVersion() != state.soup().version()) {
            BlobRef blob = state.soupHistory().get(m.getSoupVersion());
            if (blob == null) {
                throw new IllegalStateException("manifest of step " + m.getStep() + " used soup version "
                        + m.getSoupVersion() + ", which the run's checkpoints do not record");
            }
            trainer.useReference(trainer.policy().prepareReference(store.fetchFolder(blob)),
                    new LearnerState.SoupRef(m.getSoupRecipe(), m.getSoupVersion(), blob));
        }
        BatchAssembler.Batch batch = assembler.form(reread(m.getRanges()), state.policyVersion());
        if (batch.samples().size() != config.ppo().batchSize() || batch.recordCount() != m.getRecordCount()
                || batch.droppedGroups() != m.getDroppedIncompleteGroups()) {
            throw new IllegalStateException("manifest of step " + m.getStep() + " covers " + m.getRecordCount()
                    + " records and dropped " + m.getDroppedIncompleteGroups() + " incomplete groups; re-reading its "
                    + "ranges gave " + batch.recordCount() + " records, " + batch.samples().size() + " usable samples "
                    + "and " + batch.droppedGroups() + " incomplete groups");
        }
        trainer.replayStep(batch.forTrainer(), m);
    }

    private List<ConsumedRollout> reread(List<OffsetRange> ranges) {
        List<ConsumedRollout> records = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> reader = KafkaLog.rawConsumer(kafka)) {
            for (OffsetRange r : ranges) {
                for (ConsumerRecord<String, byte[]> rec : KafkaLog.readRange(reader, r.getTopic(), r.getPartition(),
                        r.getFromOffset(), r.getUntilOffset())) {
                    records.add(ConsumedRollout.decode(rec, serde));
                }
            }
        }
        return records;
    }

    /**
     * Rebuilds run {@code runId} from its newest checkpoint's card (config, initial weights, soups) and its
     * manifests: re-reads every step's offset ranges, re-trains, and compares each checkpoint's policy weights
     * (sha256 of {@code model.safetensors}) with the original. Publishes nothing.
     *
     * @param device the device to re-train on; the CPU with the run's thread count reproduces it bit for bit
     */
    public static Report run(String runId, KafkaSettings kafka, ModelFolderStore store,
            PpoLearner.TrainerFactory factory, Device device) throws IOException {
        PolicyCheckpoint latest = LearnerTopics.latestCheckpoint(kafka, runId);
        if (latest == null) {
            throw new IllegalArgumentException("run '" + runId + "' has no checkpoint on "
                    + kafka.topic(Topics.POLICY) + "; nothing to replay");
        }
        Path latestFolder = store.fetchFolder(latest.getBlob());
        CheckpointCard card = CheckpointCard.read(latestFolder);
        LearnerConfig config = card.config().toBuilder().metricsPort(-1).device(device).build();
        LearnerState recorded = card.stateWithSelf(config.guard(), latest.getBlob(), latestFolder);
        List<BatchManifest> manifests = LearnerTopics.manifests(kafka, runId);
        long firstSoup = manifests.isEmpty() ? recorded.soupHistory().keySet().iterator().next()
                : manifests.get(0).getSoupVersion();
        BlobRef soupBlob = recorded.soupHistory().get(firstSoup);
        Path initFolder = store.fetchFolder(recorded.initBlob());
        PolicyTrainer policy = factory.open(config.ppo(), initFolder,
                config.loraBaseIsSft() ? initFolder : store.fetchFolder(soupBlob), device);
        PpoTrainer.Settings settings = PpoTrainer.Settings.of(config);
        LearnerState start = PpoTrainer.initialState(settings,
                new LearnerState.SoupRef(config.soupRecipe(), firstSoup, soupBlob), recorded.soupHistory(),
                recorded.initFrom(), recorded.initBlob());
        List<Checkpoint> compared = new ArrayList<>();
        Set<Long> gone = new HashSet<>();
        for (LearnerState.CheckpointRef c : recorded.checkpoints()) {
            if (!store.blobStore().exists(URI.create(c.blob().getUri()))) {
                gone.add(c.version()); // deleted by the run's checkpoint retention
            }
        }
        try (PpoTrainer trainer = new PpoTrainer(settings, policy, start,
                new HeldOutSchedule(config, policy, () -> store.fetchFolder(recorded.initBlob())))) {
            compare(trainer.policy(), 0, recorded.checkpoints(), gone, compared);
            Replay replay = new Replay(config, kafka, store, policy);
            int steps = replay.retrainAfter(trainer, manifests, 0, true, m -> {
                compare(trainer.policy(), m.getStep(), recorded.checkpoints(), gone, compared);
                if (m.getStep() % 10 == 0) {
                    LOG.info("replay of run {}: step {} of {}", runId, m.getStep(), manifests.size());
                }
            });
            if (!gone.isEmpty()) {
                LOG.info("replay of run {}: checkpoints {} are not retained; compared with their recorded sha256",
                        runId, new TreeSet<>(gone));
            }
            return new Report(runId, steps, compared);
        }
    }

    /**
     * Compares the policy's weights now with every recorded checkpoint taken after step {@code step}; those in
     * {@code gone} are marked not retained.
     */
    private static void compare(PolicyTrainer policy, long step, List<LearnerState.CheckpointRef> recorded,
            Set<Long> gone, List<Checkpoint> out) throws IOException {
        List<LearnerState.CheckpointRef> here = recorded.stream().filter(c -> c.step() == step).toList();
        if (here.isEmpty()) {
            return;
        }
        Path dir = Files.createTempDirectory("salsa-replay-");
        try {
            policy.savePolicy(dir);
            String actual = CheckpointPublisher.weightsSha256(dir);
            for (LearnerState.CheckpointRef c : here) {
                out.add(new Checkpoint(c.version(), c.step(), c.weightsSha256(), actual,
                        !gone.contains(c.version())));
            }
        } finally {
            FileOps.deleteTree(dir);
        }
    }
}
