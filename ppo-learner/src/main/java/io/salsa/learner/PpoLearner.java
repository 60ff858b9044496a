package io.salsa.learner;

import ai.djl.Device;
import io.salsa.events.BatchManifest;
import io.salsa.events.GuardEvent;
import io.salsa.events.SoupManifest;
import io.salsa.events.TrainingMetrics;
import io.salsa.learner.ppo.KlHackGuard;
import io.salsa.learner.ppo.PpoConfig;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.kafka.BrokerWait;
import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.Service;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SALSA learner service: the Kafka adapter around {@link PpoTrainer}. It feeds the trainer batches of scored
 * rollouts ({@link RolloutSource}) and makes every step durable and replayable.
 *
 * <p>Per step: form the batch (dropping stale rollouts), train, maybe checkpoint (weights and optimiser to the
 * blob store, a {@code PolicyCheckpoint} whose card carries the whole learner state), publish metrics, write the
 * {@code BatchManifest}, and only then commit the consumer offsets. A restart loads the newest checkpoint and
 * re-trains the steps whose manifests followed it by re-reading exactly their offset ranges ({@link OpenRun},
 * {@link Replay}; deterministic, so the state is the one the crashed process had), then continues after the last
 * manifest: no record is trained twice and step numbers stay continuous. A new soup version is loaded in the
 * background and swapped in at a batch boundary, where a checkpoint records it so every later manifest's soup can
 * be found.
 */
public final class PpoLearner implements Service {

    private static final Logger LOG = LoggerFactory.getLogger(PpoLearner.class);

    /** Opens the model side from a starting folder and a reference folder, on {@code device}. */
    @FunctionalInterface
    public interface TrainerFactory {
        PolicyTrainer open(PpoConfig ppo, Path initFolder, Path referenceFolder, Device device) throws IOException;
    }

    private final LearnerConfig requested;
    private final KafkaSettings kafka;
    private final ModelFolderStore store;
    private final TrainerFactory factory;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final BrokerWait brokerWait;
    private volatile Health health;
    private volatile PpoTrainer.Stop stopReason;
    private volatile OpenRun run;
    /** The batch being trained: its rejected records are dead-lettered once the step is done. */
    private BatchAssembler.Batch formed;
    private double lastWallSeconds;
    private double lastTrainSeconds;

    private PpoLearner(LearnerConfig requested, KafkaSettings kafka, ModelFolderStore store, TrainerFactory factory) {
        this.requested = requested;
        this.kafka = kafka;
        this.store = store;
        this.factory = factory;
        this.brokerWait = new BrokerWait(kafka, LearnerTopics.SERVICE + " run " + requested.runId());
        this.health = Health.starting("run " + requested.runId() + ": resuming its checkpoint or waiting for the "
                + "first soup of recipe " + requested.soupRecipe());
    }

    /**
     * A learner for {@code config} that opens its run when {@link #run()} starts (waiting for the first soup of a
     * fresh run, or resuming the run's checkpoint), so a stop during that wait ends it cleanly.
     */
    public static PpoLearner create(LearnerConfig config, KafkaSettings kafka, ModelFolderStore store,
            TrainerFactory factory) {
        return new PpoLearner(config, kafka, store, factory);
    }

    /**
     * Opens a run now, or resumes it when the policy topic already holds a checkpoint of {@code run_id}, for
     * callers that drive the steps themselves with {@link #runUntil}. Blocks until a broker answers
     * ({@link BrokerWait}) and, for a fresh run, the recipe's first soup exists; throws if {@code stopRequested} says
     * so first.
     */
    public static PpoLearner start(LearnerConfig requested, KafkaSettings kafka, ModelFolderStore store,
            TrainerFactory factory, BooleanSupplier stopRequested) throws IOException {
        PpoLearner learner = new PpoLearner(requested, kafka, store, factory);
        if (!learner.open(stopRequested)) {
            throw new IllegalStateException("stopped while waiting for Kafka or the first soup of recipe "
                    + requested.soupRecipe());
        }
        return learner;
    }

    /** Waits for a broker, then opens the run; false when {@code stop} ended the wait for either or the first soup. */
    private boolean open(BooleanSupplier stop) throws IOException {
        if (!brokerWait.await(stop)) {
            return false;
        }
        OpenRun opened = OpenRun.open(requested, kafka, store, factory, stop, this::health);
        if (opened == null) {
            return false;
        }
        run = opened;
        health = Health.up("training");
        return true;
    }

    /**
     * Opens the run (unless {@link #start} did) and trains until {@code max_steps}, a guard halt, or
     * {@link #stop()}; {@link #stopReason()} says which.
     */
    @Override
    public void run() throws IOException {
        try {
            if (run == null && !open(stopping::get)) {
                stopReason = PpoTrainer.Stop.REQUESTED;
                health = Health.down("stopped before the run opened (waiting for Kafka or the first soup of recipe "
                        + requested.soupRecipe() + ")");
                return;
            }
            long maxSteps = run.config().maxSteps();
            PpoTrainer.Stop why = runUntil(maxSteps > 0 ? maxSteps : Long.MAX_VALUE, () -> false);
            health = Health.down("stopped (" + why + ") at step " + state().step());
        } catch (IOException | RuntimeException e) {
            health = Health.down(e.toString());
            throw e;
        }
    }

    /**
     * Trains until {@code lastStep} steps are done, a guard halt, or a stop ({@link #stop()} or
     * {@code stopRequested}), checked between polls so a stop never interrupts a step half-way.
     */
    public PpoTrainer.Stop runUntil(long lastStep, BooleanSupplier stopRequested) throws IOException {
        OpenRun r = requireOpen();
        PpoTrainer trainer = r.trainer();
        BooleanSupplier stop = () -> stopping.get() || stopRequested.getAsBoolean();
        long firstStep = trainer.state().step();
        long[] wallStart = new long[1];
        // the rate and ETA count from the first batch: the wait for the first rollouts is not a step's cost
        long[] firstBatchAt = new long[1];
        PpoTrainer.Stop why = trainer.train(state -> {
            wallStart[0] = System.nanoTime();
            swapSoupIfReady(r);
            formed = r.source().next(trainer.state().policyVersion(), stop);
            if (formed != null && firstBatchAt[0] == 0) {
                firstBatchAt[0] = System.nanoTime();
            }
            return formed == null ? null : formed.forTrainer();
        }, lastStep, outcome -> {
            publish(r, outcome);
            lastWallSeconds = (System.nanoTime() - wallStart[0]) / 1e9;
            long step = trainer.state().step();
            LOG.info("run {} step {}: {}", r.config().runId(), step,
                    progress(step, firstStep, lastStep, (System.nanoTime() - firstBatchAt[0]) / 1e9));
        });
        stopReason = why;
        if (why == PpoTrainer.Stop.HALTED_BY_GUARD) {
            health = Health.down("halted by the KL-hack guard at step " + trainer.state().step());
        }
        return why;
    }

    /**
     * The progress line of a step: seconds per step since the first batch of this {@link #runUntil} arrived
     * ({@code secondsSinceFirstBatch}, so the wait for the first rollouts does not inflate it) and the ETA to
     * {@code lastStep} ({@link Long#MAX_VALUE}: no end, no ETA).
     */
    static String progress(long step, long firstStep, long lastStep, double secondsSinceFirstBatch) {
        double perStep = secondsSinceFirstBatch / (step - firstStep);
        String eta = lastStep < Long.MAX_VALUE ? String.format(Locale.ROOT, " ETA %.0fs", perStep * (lastStep - step))
                : "";
        return String.format(Locale.ROOT, "%.2f s/step%s", perStep, eta);
    }

    /** Makes a finished step durable: checkpoint if due, dead letters, metrics, manifest, then the offsets. */
    private void publish(OpenRun r, PpoTrainer.Outcome o) throws IOException {
        String runId = r.config().runId();
        lastTrainSeconds = o.trainSeconds();
        BatchManifest manifest = o.manifest();
        if (o.checkpointDue()) {
            r.checkpoints().publish(r.trainer(), manifest.getPolicyVersionAfter(), manifest);
        }
        for (BatchAssembler.Rejected rejected : formed.rejected()) {
            r.topics().deadLetter(runId, rejected);
        }
        long t2 = System.nanoTime();
        List<GuardEvent> events = new ArrayList<>();
        for (KlHackGuard.Detection d : o.verdict().detections()) {
            events.add(new GuardEvent(d.kind(), d.action().label(), d.detail()));
            LOG.warn("run {} step {}: KL-hack guard: {} ({}) -> {}", runId, o.step(), d.kind(), d.detail(),
                    d.action().label());
        }
        LearnerState.SoupRef soup = r.trainer().state().soup();
        r.metrics().update(o.metrics());
        r.metrics().stepped(o.step());
        r.topics().send(Topics.METRICS, runId, new TrainingMetrics(runId, o.step(), soup.recipe(), soup.version(),
                manifest.getPolicyVersionBefore(), o.metrics(), events, System.currentTimeMillis()));
        r.topics().send(Topics.LEARNER_BATCHES, runId, manifest);
        r.source().commit(manifest.getRanges());
        r.metrics().update(Map.of("time/outside_train_s", (System.nanoTime() - t2) / 1e9));
    }

    private void swapSoupIfReady(OpenRun r) throws IOException {
        if (r.soupWatcher() == null) {
            return;
        }
        SoupWatcher.Ready ready = r.soupWatcher().take();
        if (ready == null) {
            return;
        }
        SoupManifest m = ready.manifest();
        PpoTrainer trainer = r.trainer();
        trainer.useReference(ready.reference(), new LearnerState.SoupRef(m.getRecipe(), m.getVersion(), m.getBlob()));
        // a checkpoint at the boundary records the new soup, so the manifests after it can always be replayed
        r.checkpoints().publish(trainer, trainer.state().policyVersion() + 1, trainer.state().lastManifest());
        LOG.info("run {}: soup {} version {} is the reference from step {} on", r.config().runId(), m.getRecipe(),
                m.getVersion(), trainer.state().step() + 1);
    }

    /** Whether the run is open: started by {@link #start}, or {@link #run()} got past the wait for the first soup. */
    public boolean isOpen() {
        return run != null;
    }

    private OpenRun requireOpen() {
        OpenRun r = run;
        if (r == null) {
            throw new IllegalStateException("the learner of run " + requested.runId() + " has not opened its run");
        }
        return r;
    }

    /** The learner state after the last completed step. */
    public LearnerState state() {
        return requireOpen().trainer().state();
    }

    /** The run's config: the requested one for a fresh run, the recorded one (operational keys requested) on resume. */
    public LearnerConfig config() {
        return requireOpen().config();
    }

    /** The model side (for evaluation by callers that own the run). */
    public PolicyTrainer policy() {
        return requireOpen().trainer().policy();
    }

    /** Why {@link #run()} or the last {@link #runUntil} returned; null while none has. */
    public PpoTrainer.Stop stopReason() {
        return stopReason;
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
        return requireOpen().metrics().port();
    }

    @Override
    public String name() {
        return LearnerTopics.SERVICE;
    }

    @Override
    public void stop() {
        stopping.set(true);
    }

    @Override
    public Health health() {
        Health waiting = brokerWait.waiting();
        if (waiting != null) {
            return waiting;
        }
        Health h = health;
        OpenRun r = run;
        if (!h.isUp() || r == null) {
            return h;
        }
        LearnerState s = r.trainer().state();
        return Health.up("step " + s.step() + ", policy version " + s.policyVersion());
    }

    /** Stops without any further write, as a crash would (tests); releases the clients, the endpoint and the model. */
    @Override
    public void close() {
        OpenRun r = run;
        if (r != null) {
            r.close();
        }
    }
}
