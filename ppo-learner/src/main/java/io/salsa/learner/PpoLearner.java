package io.salsa.learner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.runtime.blob.Sha256;
import io.salsa.runtime.io.FileOps;
import io.salsa.model.lm.ModelFolder;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.events.BatchManifest;
import io.salsa.events.BlobRef;
import io.salsa.events.DeadLetter;
import io.salsa.events.GuardEvent;
import io.salsa.events.OffsetRange;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.ScoredRollout;
import io.salsa.events.SftModelLanded;
import io.salsa.events.SoupManifest;
import io.salsa.events.TrainingMetrics;
import io.salsa.learner.ppo.KlController;
import io.salsa.learner.ppo.KlHackGuard;
import io.salsa.learner.ppo.PpoConfig;
import io.salsa.learner.ppo.PpoStep;
import io.salsa.learner.ppo.TrainingSample;
import io.salsa.schemas.DeadLetters;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SALSA learner service: consumes scored rollouts in batches, trains PPO against the current soup, and makes
 * every step durable and replayable.
 *
 * <p>Per step: form the batch (dropping stale rollouts), train, maybe checkpoint (weights and optimiser to the
 * blob store, a {@code PolicyCheckpoint} whose card carries the whole learner state), publish metrics, write the
 * {@code BatchManifest}, and only then commit the consumer offsets. A restart loads the newest checkpoint and
 * re-trains the steps whose manifests followed it by re-reading exactly their offset ranges (deterministic, so
 * the state is the one the crashed process had), then continues after the last manifest: no record is trained
 * twice and step numbers stay continuous. A new soup version is loaded in the background and swapped in at a
 * batch boundary, where a checkpoint records it so every later manifest's soup can be found.
 */
public final class PpoLearner implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PpoLearner.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String SERVICE = "ppo-learner";
    private static final Duration WAIT_LOG_EVERY = Duration.ofSeconds(10);

    /** Opens the model side from a starting folder and a reference folder. */
    @FunctionalInterface
    public interface TrainerFactory {
        PolicyTrainer open(PpoConfig ppo, Path initFolder, Path referenceFolder, String device) throws IOException;
    }

    /** Why {@link #run} returned. */
    public enum Stop { MAX_STEPS, HALTED_BY_GUARD, REQUESTED }

    private final LearnerConfig config;
    private final KafkaSettings kafka;
    private final ModelFolderStore store;
    private final PolicyTrainer trainer;
    private final KafkaProducer<String, byte[]> producer;
    private final KafkaConsumer<String, byte[]> consumer;
    private final LearnerMetrics metrics;
    private final BatchAssembler assembler;
    private final RegistryAvroSerde<ScoredRollout> rolloutSerde;
    private final String rolloutTopic;
    private SoupWatcher soupWatcher;
    private LearnerState state;
    private double lastTrainSeconds;
    private HeldOutEvaluator heldOut;
    private boolean heldOutUnavailable;
    private double lastWallSeconds;
    private int rejectedTotal;
    /** The highest offset committed per partition (steps and skipped-record progress). */
    private final Map<TopicPartition, Long> progressCommitted = new HashMap<>();

    private PpoLearner(LearnerConfig config, KafkaSettings kafka, ModelFolderStore store, PolicyTrainer trainer,
            LearnerState state) throws IOException {
        this.config = config;
        this.kafka = kafka;
        this.store = store;
        this.trainer = trainer;
        this.state = state;
        Properties pp = kafka.producerProps();
        this.producer = new KafkaProducer<>(pp, new StringSerializer(), new ByteArraySerializer());
        // the group only records progress (lag, offsets commit); positions come from manifests on restart
        Properties cp = kafka.consumerProps(SERVICE + "-" + config.runId());
        cp.setProperty(org.apache.kafka.clients.consumer.ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
                Integer.toString(KafkaSettings.MAX_RECORD_BYTES));
        this.consumer = new KafkaConsumer<>(cp, new org.apache.kafka.common.serialization.StringDeserializer(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer());
        this.metrics = new LearnerMetrics(config.runId(), config.metricsPort());
        this.assembler = new BatchAssembler(config.runId(), config.ppo().batchSize(), config.ppo().maxStaleness(),
                trainer.vocabSize(), trainer.maxLength());
        this.rolloutSerde = kafka.valueSerde(Topics.SCORED_ROLLOUTS);
        this.rolloutTopic = kafka.topic(Topics.SCORED_ROLLOUTS);
    }

    /**
     * Starts a run, or resumes it when the policy topic already holds a checkpoint of {@code run_id}. Blocks until
     * the recipe's first soup exists for a fresh run.
     */
    public static PpoLearner start(LearnerConfig requested, KafkaSettings kafka, ModelFolderStore store,
            TrainerFactory factory, BooleanSupplier stopRequested) throws IOException {
        TopicAdmin.ensureTopics(kafka, List.of(Topics.SCORED_ROLLOUTS, Topics.SOUP, Topics.POLICY, Topics.SFT_MODELS,
                Topics.LEARNER_BATCHES, Topics.METRICS, Topics.DEAD_LETTERS));
        PolicyCheckpoint latest = latestCheckpoint(kafka, requested.runId());
        return latest == null
                ? fresh(requested, kafka, store, factory, stopRequested)
                : resume(requested, kafka, store, factory, latest);
    }

    private static PpoLearner fresh(LearnerConfig config, KafkaSettings kafka, ModelFolderStore store,
            TrainerFactory factory, BooleanSupplier stopRequested) throws IOException {
        SoupManifest soup = waitForSoup(kafka, config.soupRecipe(), stopRequested);
        if (soup == null) {
            throw new IllegalStateException("stopped while waiting for the first soup of recipe " + config.soupRecipe());
        }
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
            SftModelLanded sft = latestSft(kafka, modelId);
            if (sft == null) {
                throw new IllegalArgumentException("init_from=" + config.initFrom() + ": no SFT model '" + modelId
                        + "' on topic " + kafka.topic(Topics.SFT_MODELS));
            }
            initFrom = "sft:" + modelId;
            initBlob = sft.getBlob();
            initFolder = store.fetchFolder(initBlob);
        }
        PolicyTrainer trainer = factory.open(config.ppo(), initFolder, soupFolder, config.device());
        Map<Long, BlobRef> history = new TreeMap<>();
        history.put(soup.getVersion(), soup.getBlob());
        LearnerState state = new LearnerState(0, 0, KlController.fromConfig(config.ppo()),
                new KlHackGuard(config.guard()), Map.of(),
                new LearnerState.SoupRef(soup.getRecipe(), soup.getVersion(), soup.getBlob()), history, initFrom,
                initBlob, List.of(), null);
        PpoLearner learner = new PpoLearner(config, kafka, store, trainer, state);
        try {
            learner.checkpoint(0, null);
            learner.startConsuming();
            learner.soupWatcher = new SoupWatcher(kafka, config.soupRecipe(), soup.getVersion(), store, trainer);
            LOG.info("run {} started from {} with soup {}@{}", config.runId(), initFrom, soup.getRecipe(),
                    soup.getVersion());
            return learner;
        } catch (IOException | RuntimeException e) {
            learner.close();
            throw e;
        }
    }

    private static PpoLearner resume(LearnerConfig requested, KafkaSettings kafka, ModelFolderStore store,
            TrainerFactory factory, PolicyCheckpoint latest) throws IOException {
        Path folder = store.fetchFolder(latest.getBlob());
        Card card = Card.read(folder);
        LearnerConfig config = card.configWithOperationalOverrides(requested);
        LearnerState state = card.stateWithSelf(config.guard(), latest.getBlob(), folder);
        Path soupFolder = store.fetchFolder(state.soup().blob());
        PolicyTrainer trainer = factory.open(config.ppo(), folder, soupFolder, config.device());
        Path optimizer = store.fetchFolder(card.optimizer());
        trainer.restore(folder, optimizer.resolve(OPTIMIZER_FILE));
        PpoLearner learner = new PpoLearner(config, kafka, store, trainer, state);
        try {
            List<BatchManifest> manifests = manifests(kafka, config.runId());
            long checkpointStep = state.step();
            if (state.lastManifest() != null
                    && manifests.stream().noneMatch(m -> m.getStep() == checkpointStep)) {
                // crashed between the checkpoint and its manifest: write the manifest the checkpoint carries
                learner.send(Topics.LEARNER_BATCHES, config.runId(), state.lastManifest(),
                        kafka.valueSerde(Topics.LEARNER_BATCHES));
                LOG.info("run {}: wrote the missing manifest of step {} from its checkpoint", config.runId(),
                        checkpointStep);
            }
            long expected = checkpointStep + 1;
            int replayed = 0;
            for (BatchManifest m : manifests) {
                if (m.getStep() <= checkpointStep) {
                    continue;
                }
                if (m.getStep() != expected) {
                    throw new IllegalStateException("run " + config.runId() + ": manifests jump from step "
                            + (expected - 1) + " to " + m.getStep());
                }
                learner.replayManifest(m, null);
                expected++;
                replayed++;
            }
            learner.startConsuming();
            learner.soupWatcher = new SoupWatcher(kafka, config.soupRecipe(), learner.state.soup().version(), store,
                    trainer);
            LOG.info("run {} resumed from checkpoint v{} (step {}), re-trained {} manifested step(s), now at step {}",
                    config.runId(), latest.getVersion(), checkpointStep, replayed, learner.state.step());
            return learner;
        } catch (IOException | RuntimeException e) {
            learner.close();
            throw e;
        }
    }

    /** The learner state after the last completed step. */
    public LearnerState state() {
        return state;
    }

    /**
     * Wall time of the last live step (polling, decoding, batching, training, checkpoint, metrics, manifest and
     * offset commit) and the part of it spent in {@link PolicyTrainer#step}: their difference is the time
     * outside the model.
     */
    public double[] lastStepSeconds() {
        return new double[] {lastWallSeconds, lastTrainSeconds};
    }

    /** The Prometheus port, or -1 when off. */
    public int metricsPort() {
        return metrics.port();
    }

    /** The trainer (for evaluation by callers that own the run). */
    public PolicyTrainer trainer() {
        return trainer;
    }

    /**
     * Trains until {@code max_steps}, a guard halt, or {@code stopRequested}; checked between polls so a stop
     * never interrupts a step half-way.
     */
    public Stop run(BooleanSupplier stopRequested) throws IOException {
        return runUntil(config.maxSteps() > 0 ? config.maxSteps() : Long.MAX_VALUE, stopRequested);
    }

    /** Like {@link #run} but stops once {@code lastStep} steps are done (callers that interleave work). */
    public Stop runUntil(long lastStep, BooleanSupplier stopRequested) throws IOException {
        long started = System.nanoTime();
        long firstStep = state.step();
        while (true) {
            if (state.step() >= lastStep) {
                return Stop.MAX_STEPS;
            }
            long wallStart = System.nanoTime();
            swapSoupIfReady();
            BatchAssembler.Batch batch = nextBatch(stopRequested);
            if (batch == null) {
                return Stop.REQUESTED;
            }
            boolean halt = trainStep(batch, true);
            lastWallSeconds = (System.nanoTime() - wallStart) / 1e9;
            long done = state.step() - firstStep;
            double perStep = (System.nanoTime() - started) / 1e9 / done;
            String eta = lastStep < Long.MAX_VALUE
                    ? String.format(" ETA %.0fs", perStep * (lastStep - state.step())) : "";
            LOG.info("run {} step {}: {} s/step{}", config.runId(), state.step(), String.format("%.2f", perStep), eta);
            if (halt) {
                return Stop.HALTED_BY_GUARD;
            }
        }
    }

    private BatchAssembler.Batch nextBatch(BooleanSupplier stopRequested) {
        long lastLog = System.nanoTime();
        while (true) {
            BatchAssembler.Batch batch = assembler.tryForm(state.policyVersion());
            if (batch != null) {
                return batch;
            }
            if (stopRequested.getAsBoolean()) {
                return null;
            }
            ConsumerRecords<String, byte[]> polled = consumer.poll(Duration.ofMillis(config.pollTimeoutMs()));
            for (ConsumerRecord<String, byte[]> r : polled) {
                assembler.add(decode(r));
            }
            if (!polled.isEmpty()) {
                commitSkippedPrefix();
            }
            if (System.nanoTime() - lastLog > WAIT_LOG_EVERY.toNanos()) {
                LOG.info("run {}: waiting for scored rollouts ({} of {} pending)", config.runId(),
                        assembler.pendingCount(), config.ppo().batchSize());
                lastLog = System.nanoTime();
            }
        }
    }

    /**
     * Commits, as consumer-group progress only, the offsets past pending records this run will skip (other runs'
     * rollouts, stale ones), so generators gating on this group's lag do not wait for a step that would never
     * come. Restart and replay take their positions from manifests, not from these commits.
     */
    private void commitSkippedPrefix() {
        Map<TopicPartition, OffsetAndMetadata> commit = new LinkedHashMap<>();
        assembler.skippedPrefixEnds(state.policyVersion()).forEach((tp, end) -> {
            Long done = progressCommitted.get(tp);
            if (done == null || end > done) {
                commit.put(tp, new OffsetAndMetadata(end));
            }
        });
        if (!commit.isEmpty()) {
            commitOffsets(commit);
        }
    }

    private ConsumedRollout decode(ConsumerRecord<String, byte[]> r) {
        ScoredRollout value = null;
        if (r.value() != null) {
            try {
                value = rolloutSerde.deserialize(r.topic(), r.value());
            } catch (RuntimeException e) {
                value = null;
            }
        }
        return new ConsumedRollout(r.topic(), r.partition(), r.offset(), value);
    }

    /**
     * Trains one formed batch as step {@code state.step + 1}; when {@code live}, also checkpoints on schedule,
     * publishes metrics, dead-letters rejected records, writes the manifest and commits the offsets.
     *
     * @return whether the guard asked to halt
     */
    private boolean trainStep(BatchAssembler.Batch batch, boolean live) throws IOException {
        long step = state.step() + 1;
        long seed = config.stepSeed(step);
        long versionBefore = state.policyVersion();
        long t0 = System.nanoTime();
        PpoStep.Result result = trainer.step(batch.samples(), state.kl().value(), seed);
        long t1 = System.nanoTime();
        lastTrainSeconds = (t1 - t0) / 1e9;
        for (String key : List.of("objective/kl", "loss/policy_avg", "loss/value_avg")) {
            double v = result.metrics().get(key);
            if (!Double.isFinite(v)) {
                // stop before a NaN reaches the KL controller, a checkpoint or a manifest
                throw new IllegalStateException("run " + config.runId() + " step " + step + ": " + key + " is " + v
                        + "; the policy weights or gradients are not finite, nothing of this step was written");
            }
        }
        KlController kl = state.kl().update(result.meanKl(), config.ppo().batchSize());
        OptionalDouble heldOutScore = heldOutScore(step);
        KlHackGuard.Verdict verdict = state.guard().observe(new KlHackGuard.Observation(result.meanResponseLength(),
                result.meanKl(), result.meanScore(), heldOutScore));
        if (verdict.raiseBeta()) {
            kl = kl.withValue(kl.value() * config.guard().raiseBetaFactor());
        }
        Map<String, Long> positions = new TreeMap<>(state.positions());
        for (OffsetRange r : batch.ranges()) {
            positions.merge(LearnerState.positionKey(r.getTopic(), r.getPartition()), r.getUntilOffset(), Math::max);
        }
        boolean save = step % config.saveSteps() == 0;
        long versionAfter = save ? versionBefore + 1 : versionBefore;
        BatchManifest manifest = new BatchManifest(config.runId(), step, seed, batch.ranges(), batch.recordCount(),
                batch.droppedStale(), state.soup().recipe(), state.soup().version(), versionBefore, versionAfter,
                System.currentTimeMillis());
        state = new LearnerState(step, versionBefore, kl, verdict.next(), positions, state.soup(),
                state.soupHistory(), state.initFrom(), state.initBlob(), state.checkpoints(), manifest);
        if (!live) {
            return false;
        }
        if (save) {
            checkpoint(versionAfter, manifest);
        }
        for (BatchAssembler.Rejected rejected : batch.rejected()) {
            deadLetter(rejected);
        }
        long t2 = System.nanoTime();
        Map<String, Double> values = new LinkedHashMap<>(result.metrics());
        int tokens = 0;
        for (TrainingSample s : batch.samples()) {
            tokens += s.queryTokens().length + s.responseTokens().length;
        }
        heldOutScore.ifPresent(v -> values.put("eval/heldout_score", v));
        values.put("soup_version", (double) state.soup().version());
        values.put("policy_version", (double) versionBefore);
        values.put("learner/records", (double) batch.recordCount());
        values.put("learner/dropped_stale", (double) batch.droppedStale());
        values.put("learner/rejected", (double) (rejectedTotal += batch.rejected().size()));
        values.put("time/train_step_s", (t1 - t0) / 1e9);
        values.put("tokens_per_s", tokens / ((t1 - t0) / 1e9));
        List<GuardEvent> events = new ArrayList<>();
        for (KlHackGuard.Detection d : verdict.detections()) {
            events.add(new GuardEvent(d.kind(), d.action().label(), d.detail()));
            LOG.warn("run {} step {}: KL-hack guard: {} ({}) -> {}", config.runId(), step, d.kind(), d.detail(),
                    d.action().label());
        }
        TrainingMetrics tm = new TrainingMetrics(config.runId(), step, state.soup().recipe(), state.soup().version(),
                versionBefore, values, events, System.currentTimeMillis());
        metrics.update(values);
        send(Topics.METRICS, config.runId(), tm, kafka.valueSerde(Topics.METRICS));
        send(Topics.LEARNER_BATCHES, config.runId(), manifest, kafka.valueSerde(Topics.LEARNER_BATCHES));
        Map<TopicPartition, OffsetAndMetadata> commit = new LinkedHashMap<>();
        for (OffsetRange r : batch.ranges()) {
            commit.put(new TopicPartition(r.getTopic(), r.getPartition()), new OffsetAndMetadata(r.getUntilOffset()));
        }
        if (!commit.isEmpty()) {
            commitOffsets(commit);
        }
        values.put("time/outside_train_s", (System.nanoTime() - t2) / 1e9);
        metrics.update(Map.of("time/outside_train_s", values.get("time/outside_train_s")));
        return verdict.halt();
    }

    /**
     * The held-out simulated-rater score on {@code eval_steps} boundaries (computed in live, restart and replay
     * alike, since the guard's state depends on it), else empty. Needs a GPT-2 trainer and a tokenizer.json in
     * the initial model folder; without them the check is skipped with one warning.
     */
    private OptionalDouble heldOutScore(long step) throws IOException {
        if (config.evalSteps() == 0 || step % config.evalSteps() != 0 || heldOutUnavailable
                || !(trainer instanceof GptPolicyTrainer gpt)) {
            return OptionalDouble.empty();
        }
        if (heldOut == null) {
            Path folder = store.fetchFolder(state.initBlob());
            if (!Files.isRegularFile(folder.resolve(ModelFolder.TOKENIZER))) {
                LOG.warn("run {}: eval_steps={} but the initial model has no {}; held-out checks are off",
                        config.runId(), config.evalSteps(), ModelFolder.TOKENIZER);
                heldOutUnavailable = true;
                return OptionalDouble.empty();
            }
            heldOut = HeldOutEvaluator.forTask(config.heldoutTaskSeed(), config.heldoutEntities(),
                    config.heldoutCount(), 24, folder);
        }
        return OptionalDouble.of(heldOut.evaluate(gpt.policy()));
    }

    private void commitOffsets(Map<TopicPartition, OffsetAndMetadata> commit) {
        consumer.commitSync(commit);
        commit.forEach((tp, o) -> progressCommitted.merge(tp, o.offset(), Math::max));
    }

    /** Re-trains a manifested step by re-reading exactly its ranges (restart and replay). */
    void replayManifest(BatchManifest m, ReplayObserver observer) throws IOException {
        if (observer != null && m.getPolicyVersionBefore() > state.policyVersion()) {
            // a replay from scratch passes over checkpoints taken between steps (soup swaps)
            state = new LearnerState(state.step(), m.getPolicyVersionBefore(), state.kl(), state.guard(),
                    state.positions(), state.soup(), state.soupHistory(), state.initFrom(), state.initBlob(),
                    state.checkpoints(), state.lastManifest());
        }
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
            trainer.swapReference(trainer.prepareReference(store.fetchFolder(blob)));
            state = withSoup(new LearnerState.SoupRef(m.getSoupRecipe(), m.getSoupVersion(), blob));
        }
        List<ConsumedRollout> records = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> reader = KafkaLog.rawConsumer(kafka)) {
            for (OffsetRange r : m.getRanges()) {
                for (ConsumerRecord<String, byte[]> rec : KafkaLog.readRange(reader, r.getTopic(), r.getPartition(),
                        r.getFromOffset(), r.getUntilOffset())) {
                    records.add(decode(rec));
                }
            }
        }
        BatchAssembler.Batch batch = assembler.form(records, state.policyVersion());
        if (batch.samples().size() != config.ppo().batchSize() || batch.recordCount() != m.getRecordCount()) {
            throw new IllegalStateException("manifest of step " + m.getStep() + " covers " + m.getRecordCount()
                    + " records; re-reading its ranges gave " + batch.recordCount() + " records and "
                    + batch.samples().size() + " usable samples");
        }
        trainStep(batch, false);
        state = new LearnerState(state.step(), m.getPolicyVersionAfter(), state.kl(), state.guard(),
                state.positions(), state.soup(), state.soupHistory(), state.initFrom(), state.initBlob(),
                state.checkpoints(), m);
        if (observer != null) {
            observer.afterStep(m, this);
        }
    }

    /** Called by a replay after each re-trained step. */
    @FunctionalInterface
    interface ReplayObserver {
        void afterStep(BatchManifest manifest, PpoLearner learner) throws IOException;
    }


    /** One checkpoint a replay reproduced (or not). */
    public record ReplayedCheckpoint(long version, long step, String expectedSha256, String actualSha256) {
        public boolean identical() {
            return expectedSha256.equals(actualSha256);
        }
    }

    /** What a replay did: the steps it re-trained and every checkpoint it compared. */
    public record ReplayReport(String runId, long steps, List<ReplayedCheckpoint> checkpoints) {
        public boolean allIdentical() {
            return checkpoints.stream().allMatch(ReplayedCheckpoint::identical);
        }
    }

    /**
     * Rebuilds run {@code runId} from its newest checkpoint's card (config, initial weights, soups) and its
     * manifests: re-reads every step's offset ranges, re-trains, and compares each checkpoint's policy weights
     * (sha256 of {@code model.safetensors}) with the original. Publishes nothing.
     *
     * @param device {@code cpu} (bit-identical) or {@code gpu}
     */
    public static ReplayReport replay(String runId, KafkaSettings kafka, ModelFolderStore store, TrainerFactory factory,
            String device) throws IOException {
        PolicyCheckpoint latest = latestCheckpoint(kafka, runId);
        if (latest == null) {
            throw new IllegalArgumentException("run '" + runId + "' has no checkpoint on "
                    + kafka.topic(Topics.POLICY) + "; nothing to replay");
        }
        Path latestFolder = store.fetchFolder(latest.getBlob());
        Card card = Card.read(latestFolder);
        Map<String, String> settings = card.config();
        settings.put("metrics_port", "-1");
        settings.put("device", device);
        LearnerConfig config = LearnerConfig.fromMap(settings);
        LearnerState recorded = card.stateWithSelf(config.guard(), latest.getBlob(), latestFolder);
        List<BatchManifest> manifests = manifests(kafka, runId);
        long firstSoup = manifests.isEmpty() ? recorded.soupHistory().keySet().iterator().next()
                : manifests.get(0).getSoupVersion();
        BlobRef soupBlob = recorded.soupHistory().get(firstSoup);
        Path initFolder = store.fetchFolder(recorded.initBlob());
        PolicyTrainer trainer = factory.open(config.ppo(), initFolder, store.fetchFolder(soupBlob), device);
        LearnerState start = new LearnerState(0, 0, KlController.fromConfig(config.ppo()),
                new KlHackGuard(config.guard()), Map.of(),
                new LearnerState.SoupRef(config.soupRecipe(), firstSoup, soupBlob), recorded.soupHistory(),
                recorded.initFrom(), recorded.initBlob(), List.of(), null);
        List<ReplayedCheckpoint> compared = new ArrayList<>();
        try (PpoLearner learner = new PpoLearner(config, kafka, store, trainer, start)) {
            learner.compareCheckpoints(0, recorded.checkpoints(), compared);
            long expected = 1;
            for (BatchManifest m : manifests) {
                if (m.getStep() != expected) {
                    throw new IllegalStateException("run " + runId + ": manifests jump from step " + (expected - 1)
                            + " to " + m.getStep());
                }
                learner.replayManifest(m, (manifest, l) ->
                        l.compareCheckpoints(manifest.getStep(), recorded.checkpoints(), compared));
                expected++;
                if (m.getStep() % 10 == 0) {
                    LOG.info("replay of run {}: step {} of {}", runId, m.getStep(), manifests.size());
                }
            }
            return new ReplayReport(runId, manifests.size(), compared);
        }
    }

    private void compareCheckpoints(long step, List<LearnerState.CheckpointRef> recorded,
            List<ReplayedCheckpoint> out) throws IOException {
        List<LearnerState.CheckpointRef> here = recorded.stream().filter(c -> c.step() == step).toList();
        if (here.isEmpty()) {
            return;
        }
        Path dir = Files.createTempDirectory("salsa-replay-");
        try {
            trainer.savePolicy(dir);
            String actual = sha256(dir.resolve(ModelFolder.WEIGHTS));
            for (LearnerState.CheckpointRef c : here) {
                out.add(new ReplayedCheckpoint(c.version(), c.step(), c.weightsSha256(), actual));
            }
        } finally {
            deleteRecursively(dir);
        }
    }

    private LearnerState withSoup(LearnerState.SoupRef soup) {
        Map<Long, BlobRef> history = new TreeMap<>(state.soupHistory());
        history.put(soup.version(), soup.blob());
        return new LearnerState(state.step(), state.policyVersion(), state.kl(), state.guard(), state.positions(), soup,
                history, state.initFrom(), state.initBlob(), state.checkpoints(), state.lastManifest());
    }

    private void swapSoupIfReady() throws IOException {
        SoupWatcher.Ready ready = soupWatcher == null ? null : soupWatcher.take();
        if (ready == null) {
            return;
        }
        SoupManifest m = ready.manifest();
        trainer.swapReference(ready.reference());
        state = withSoup(new LearnerState.SoupRef(m.getRecipe(), m.getVersion(), m.getBlob()));
        // a checkpoint at the boundary records the new soup, so the manifests after it can always be replayed
        checkpoint(state.policyVersion() + 1, state.lastManifest());
        LOG.info("run {}: soup {} version {} is the reference from step {} on", config.runId(), m.getRecipe(),
                m.getVersion(), state.step() + 1);
    }

    static final String OPTIMIZER_FILE = "optimizer.safetensors";
    private static final String CARD_TRAINER = "ppo-learner";

    /** Saves policy and optimiser, publishes a PolicyCheckpoint of {@code version} and records it in the state. */
    private void checkpoint(long version, BatchManifest manifestOfStep) throws IOException {
        Path dir = Files.createTempDirectory("salsa-ckpt-");
        try {
            Path policyDir = dir.resolve("policy");
            Path optDir = dir.resolve("optimizer");
            Files.createDirectories(optDir);
            trainer.savePolicy(policyDir);
            // generators load checkpoints as model folders: they need the tokenizer the run started with
            ModelFolder.copyTokenizer(store.fetchFolder(state.initBlob()), policyDir);
            trainer.saveOptimizer(optDir.resolve(OPTIMIZER_FILE));
            BlobRef optRef = store.putFolder(optDir, "runs/" + config.runId() + "/optimizer-v" + version);
            LearnerState saved = new LearnerState(state.step(), version, state.kl(), state.guard(), state.positions(),
                    state.soup(), state.soupHistory(), state.initFrom(), state.initBlob(), state.checkpoints(),
                    manifestOfStep);
            String weightsSha = sha256(policyDir.resolve(ModelFolder.WEIGHTS));
            Card.write(policyDir, config, saved, optRef, version);
            BlobRef ref = store.putFolder(policyDir, "runs/" + config.runId() + "/policy-v" + version);
            PolicyCheckpoint cp = new PolicyCheckpoint(config.runId(), version, state.step(), ref,
                    state.soup().recipe(), state.soup().version(), state.initFrom(), null, System.currentTimeMillis());
            send(Topics.POLICY, config.runId(), cp, kafka.valueSerde(Topics.POLICY));
            List<LearnerState.CheckpointRef> cps = new ArrayList<>(state.checkpoints());
            cps.add(new LearnerState.CheckpointRef(version, state.step(), ref, weightsSha));
            state = new LearnerState(state.step(), version, state.kl(), state.guard(), state.positions(), state.soup(),
                    state.soupHistory(), state.initFrom(), state.initBlob(), cps, state.lastManifest());
            LOG.info("run {}: checkpoint v{} after step {} ({})", config.runId(), version, state.step(), ref.getUri());
        } finally {
            deleteRecursively(dir);
        }
    }

    private <V extends org.apache.avro.specific.SpecificRecord> void send(io.salsa.schemas.Topic<String, V> topic,
            String key, V value, RegistryAvroSerde<V> serde) {
        String name = kafka.topic(topic);
        try {
            producer.send(new ProducerRecord<>(name, key, serde.serialize(name, value))).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing to " + name, e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("could not write to " + name + ": " + e.getCause(), e.getCause());
        }
    }

    private void deadLetter(BatchAssembler.Rejected rejected) {
        ConsumedRollout r = rejected.record();
        DeadLetter letter = DeadLetter.newBuilder()
                .setSourceTopic(r.topic()).setPartition(r.partition()).setOffset(r.offset())
                .setKey(null).setValue(null)
                .setError(rejected.reason().name().toLowerCase() + ": " + rejected.detail())
                .setErrorClass(rejected.reason().name()).setService(SERVICE)
                .setFailedAtMs(System.currentTimeMillis()).build();
        send(Topics.DEAD_LETTERS, config.runId(), letter, kafka.valueSerde(Topics.DEAD_LETTERS));
        LOG.warn("run {}: dead-lettered {}-{}@{}: {}", config.runId(), r.topic(), r.partition(), r.offset(),
                rejected.detail());
    }

    private void startConsuming() {
        List<TopicPartition> parts = KafkaLog.partitions(consumer, rolloutTopic);
        consumer.assign(parts);
        for (TopicPartition tp : parts) {
            Long pos = state.positions().get(LearnerState.positionKey(tp.topic(), tp.partition()));
            if (pos == null) {
                consumer.seekToBeginning(List.of(tp));
            } else {
                consumer.seek(tp, pos);
            }
        }
    }

    /** The newest checkpoint of {@code runId} on the policy topic, or null. */
    static PolicyCheckpoint latestCheckpoint(KafkaSettings kafka, String runId) {
        String topic = kafka.topic(Topics.POLICY);
        RegistryAvroSerde<PolicyCheckpoint> serde = kafka.valueSerde(Topics.POLICY);
        PolicyCheckpoint latest = null;
        for (ConsumerRecord<String, byte[]> r : KafkaLog.readAll(kafka, topic)) {
            if (runId.equals(r.key()) && r.value() != null) {
                PolicyCheckpoint cp = serde.deserialize(topic, r.value());
                if (latest == null || cp.getVersion() >= latest.getVersion()) {
                    latest = cp;
                }
            }
        }
        return latest;
    }

    /** Every manifest of {@code runId}, ordered by step; a step written twice keeps its last manifest. */
    static List<BatchManifest> manifests(KafkaSettings kafka, String runId) {
        String topic = kafka.topic(Topics.LEARNER_BATCHES);
        RegistryAvroSerde<BatchManifest> serde = kafka.valueSerde(Topics.LEARNER_BATCHES);
        TreeMap<Long, BatchManifest> byStep = new TreeMap<>();
        for (ConsumerRecord<String, byte[]> r : KafkaLog.readAll(kafka, topic)) {
            if (runId.equals(r.key()) && r.value() != null) {
                BatchManifest m = serde.deserialize(topic, r.value());
                byStep.put(m.getStep(), m);
            }
        }
        return new ArrayList<>(byStep.values());
    }

    private static SoupManifest waitForSoup(KafkaSettings kafka, String recipe, BooleanSupplier stop) {
        long lastLog = 0;
        while (!stop.getAsBoolean()) {
            SoupManifest soup = KafkaLog.latestSoup(kafka, recipe);
            if (soup != null) {
                return soup;
            }
            if (System.currentTimeMillis() - lastLog > WAIT_LOG_EVERY.toMillis()) {
                LOG.info("waiting for the first soup of recipe '{}' on {}", recipe, kafka.topic(Topics.SOUP));
                lastLog = System.currentTimeMillis();
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    private static SftModelLanded latestSft(KafkaSettings kafka, String modelId) {
        String topic = kafka.topic(Topics.SFT_MODELS);
        RegistryAvroSerde<SftModelLanded> serde = kafka.valueSerde(Topics.SFT_MODELS);
        SftModelLanded latest = null;
        for (ConsumerRecord<String, byte[]> r : KafkaLog.readAll(kafka, topic)) {
            if (modelId.equals(r.key()) && r.value() != null) {
                latest = serde.deserialize(topic, r.value());
            }
        }
        return latest;
    }

    static String sha256(Path file) throws IOException {
        return Sha256.of(file);
    }

    static void deleteRecursively(Path dir) {
        try {
            FileOps.deleteTree(dir);
        } catch (IOException e) {
            LOG.warn("could not delete scratch folder {}: {}", dir, e.toString());
        }
    }

    /** Stops without any further write, as a crash would (tests); {@link #close()} is the same plus nothing. */
    @Override
    public void close() {
        if (soupWatcher != null) {
            soupWatcher.close();
        }
        metrics.close();
        if (heldOut != null) {
            heldOut.close();
        }
        consumer.close(Duration.ofSeconds(5));
        producer.close(Duration.ofSeconds(5));
        trainer.close();
    }

    /**
     * A checkpoint's {@code card.json}: how the policy was made, the run config and the full learner state, plus
     * the optimiser blob. Generators ignore it; restarts and replays read it.
     */
    static final class Card {
        private final JsonNode root;

        private Card(JsonNode root) {
            this.root = root;
        }

        static void write(Path policyDir, LearnerConfig config, LearnerState state, BlobRef optimizer, long version)
                throws IOException {
            ObjectNode card = JSON.createObjectNode();
            card.put("trainer", CARD_TRAINER);
            card.put("runId", config.runId());
            card.put("version", version);
            card.put("step", state.step());
            ObjectNode cfg = card.putObject("config");
            config.toMap().forEach(cfg::put);
            card.set("state", state.toJson());
            card.set("optimizer", LearnerState.blob(optimizer));
            JSON.writerWithDefaultPrettyPrinter().writeValue(policyDir.resolve(ModelFolder.CARD).toFile(), card);
        }

        static Card read(Path policyDir) throws IOException {
            Path file = policyDir.resolve(ModelFolder.CARD);
            if (!Files.isRegularFile(file)) {
                throw new IOException(policyDir + " has no " + ModelFolder.CARD + ": not a learner checkpoint");
            }
            JsonNode root = JSON.readTree(file.toFile());
            if (!CARD_TRAINER.equals(root.path("trainer").asText())) {
                throw new IOException(file + " was not written by the PPO learner");
            }
            return new Card(root);
        }

        Map<String, String> config() {
            Map<String, String> m = new LinkedHashMap<>();
            root.get("config").fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
            return m;
        }

        /** The recorded run config, with the keys that do not change the maths taken from {@code requested}. */
        LearnerConfig configWithOperationalOverrides(LearnerConfig requested) {
            Map<String, String> m = config();
            for (String key : List.of("max_steps", "metrics_port", "poll_timeout_ms", "device")) {
                m.put(key, requested.toMap().get(key));
            }
            LearnerConfig recorded = LearnerConfig.fromMap(m);
            if (!recorded.ppo().equals(requested.ppo())) {
                LOG.warn("run {} resumes with its recorded PPO settings; the ones given now differ and are ignored",
                        recorded.runId());
            }
            return recorded;
        }

        BlobRef optimizer() {
            return LearnerState.blob(root.get("optimizer"));
        }

        /** The state the card records, with this checkpoint itself appended to its checkpoint list. */
        LearnerState stateWithSelf(KlHackGuard.Config guard, BlobRef self, Path policyDir) throws IOException {
            LearnerState s = LearnerState.fromJson(root.get("state"), guard);
            List<LearnerState.CheckpointRef> cps = new ArrayList<>(s.checkpoints());
            cps.add(new LearnerState.CheckpointRef(root.get("version").asLong(), s.step(), self,
                    sha256(policyDir.resolve(ModelFolder.WEIGHTS))));
            return new LearnerState(s.step(), s.policyVersion(), s.kl(), s.guard(), s.positions(), s.soup(),
                    s.soupHistory(), s.initFrom(), s.initBlob(), cps, s.lastManifest());
        }
    }
}
