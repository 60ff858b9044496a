package io.salsa.learner;

import io.salsa.events.BatchManifest;
import io.salsa.events.BlobRef;
import io.salsa.events.OffsetRange;
import io.salsa.learner.ppo.GradScaler;
import io.salsa.learner.ppo.KlController;
import io.salsa.learner.ppo.KlHackGuard;
import io.salsa.learner.ppo.PpoConfig;
import io.salsa.learner.ppo.PpoStep;
import io.salsa.learner.ppo.TrainingSample;
import java.io.IOException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.function.LongUnaryOperator;

/**
 * The PPO learner without transport: owns the {@link LearnerState} and turns one batch into one step — train
 * through the {@link PolicyTrainer} (whose optimiser steps with a non-finite gradient are skipped and counted in
 * the manifest, and halt the run after {@code max_consecutive_skips} in a row), refuse a non-finite step, move the
 * KL controller, consult the KL-hack guard (raising β when it asks), and produce the step's TRL-named metrics, its
 * {@code BatchManifest} and whether a checkpoint is due. Like TRL's trainer it does not know where batches come
 * from ({@link BatchSource}) nor where its results go ({@link StepListener}): the Kafka learner, its replay and the
 * SALSA-vs-PPO experiment all step through this class, so they do exactly the same maths.
 */
public final class PpoTrainer implements AutoCloseable {

    /** Why {@link #train} returned. */
    public enum Stop { MAX_STEPS, HALTED_BY_GUARD, REQUESTED }

    /** Where batches come from (TRL's data loader): the next step's batch, or null to stop before it. */
    @FunctionalInterface
    public interface BatchSource {
        TrainingBatch next(LearnerState state) throws IOException;
    }

    /** What happens with a finished step (publishing, logging, recording); runs before the next batch is asked for. */
    @FunctionalInterface
    public interface StepListener {
        void afterStep(Outcome outcome) throws IOException;
    }

    /**
     * The gold score on held-out prompts after a step, when that step is one to evaluate; it feeds the guard's
     * proxy/gold divergence check, so it is computed in live steps and replays alike.
     */
    @FunctionalInterface
    public interface HeldOutScorer extends AutoCloseable {
        OptionalDouble score(long step) throws IOException;

        @Override
        default void close() {
        }
    }

    /**
     * The trainer's settings.
     *
     * @param runId the run's id (manifests, messages)
     * @param ppo PPO hyper-parameters (batch size, KL controller)
     * @param guard KL-hack guard thresholds and action
     * @param saveSteps a checkpoint is due after every this many steps; 0 = never
     * @param stepSeeds the seed of step k (mini-batch shuffling), so a replay reproduces the step
     */
    public record Settings(String runId, PpoConfig ppo, KlHackGuard.Config guard, int saveSteps,
            LongUnaryOperator stepSeeds) {
        public Settings {
            if (saveSteps < 0) {
                throw new IllegalArgumentException("saveSteps must be >= 0, 0 = never (got " + saveSteps + ")");
            }
        }

        /** The learner's settings: its run id, PPO and guard settings, {@code save_steps} and step seeds. */
        public static Settings of(LearnerConfig config) {
            return new Settings(config.runId(), config.ppo(), config.guard(), config.saveSteps(), config::stepSeed);
        }
    }

    /**
     * One finished step.
     *
     * @param step the step's number
     * @param result what the PPO step computed
     * @param heldOutScore the held-out gold score after the step, when evaluated
     * @param verdict the guard's detections (already applied to the state)
     * @param manifest the step's manifest (what it read, with which soup, from which policy version)
     * @param checkpointDue whether {@code save_steps} asks for a checkpoint of version {@code policyVersionAfter}
     * @param metrics the step's metrics under TRL names plus the learner's own
     * @param trainSeconds wall time spent in {@link PolicyTrainer#step}
     * @param batch the batch the step trained on
     */
    public record Outcome(long step, PpoStep.Result result, OptionalDouble heldOutScore, KlHackGuard.Verdict verdict,
            BatchManifest manifest, boolean checkpointDue, Map<String, Double> metrics, double trainSeconds,
            TrainingBatch batch) {

        /** True when the guard asks the run to stop. */
        public boolean halt() {
            return verdict.halt();
        }
    }

    /** A step whose loss or KL is not finite: nothing of it may reach the controller, a checkpoint or a manifest. */
    public static final class NonFiniteStepException extends IllegalStateException {
        private final long step;

        NonFiniteStepException(String message, long step) {
            super(message);
            this.step = step;
        }

        /** The step that produced the non-finite value. */
        public long step() {
            return step;
        }
    }

    private static final List<String> FINITE_KEYS = List.of("objective/kl", "loss/policy_avg", "loss/value_avg");

    private final Settings settings;
    private final PolicyTrainer policy;
    private final HeldOutScorer heldOut;
    private LearnerState state;
    private int rejectedTotal;

    /**
     * A trainer continuing from {@code state}; it owns {@code policy} and {@code heldOut} and closes them.
     *
     * @param heldOut the held-out scorer, or null for none
     */
    public PpoTrainer(Settings settings, PolicyTrainer policy, LearnerState state, HeldOutScorer heldOut) {
        this.settings = settings;
        this.policy = policy;
        this.state = state;
        this.heldOut = heldOut == null ? step -> OptionalDouble.empty() : heldOut;
    }

    /** The state of a run before its first step: the configured KL controller, a fresh guard, {@code soup} in force. */
    public static LearnerState initialState(Settings settings, LearnerState.SoupRef soup,
            Map<Long, BlobRef> soupHistory, String initFrom, BlobRef initBlob) {
        return LearnerState.initial(KlController.fromConfig(settings.ppo()), new KlHackGuard(settings.guard()), soup,
                soupHistory, initFrom, initBlob);
    }

    /** The state after the last step (and checkpoint, and soup swap). */
    public LearnerState state() {
        return state;
    }

    /** The model side (saving, restoring, evaluating). */
    public PolicyTrainer policy() {
        return policy;
    }

    public Settings settings() {
        return settings;
    }

    /**
     * Trains until {@code lastStep} steps are done, the guard halts, or {@code source} returns no batch; each
     * finished step goes to {@code listener} before the next batch is asked for.
     */
    public Stop train(BatchSource source, long lastStep, StepListener listener) throws IOException {
        while (state.step() < lastStep) {
            TrainingBatch batch = source.next(state);
            if (batch == null) {
                return Stop.REQUESTED;
            }
            Outcome outcome = step(batch);
            listener.afterStep(outcome);
            if (outcome.halt()) {
                return Stop.HALTED_BY_GUARD;
            }
        }
        return Stop.MAX_STEPS;
    }

    /**
     * Trains {@code batch} as step {@code state.step + 1} and returns what the step did; the state moves to after
     * the step at the same policy version (a due checkpoint moves it, see {@link #recordCheckpoint}).
     *
     * @throws NonFiniteStepException when the step's KL or losses are not finite, or its optimiser met
     *     {@code max_consecutive_skips} non-finite gradients in a row; the state is then unchanged
     */
    public Outcome step(TrainingBatch batch) throws IOException {
        Trained t = train(batch, null);
        rejectedTotal += batch.rejected();
        long versionBefore = t.manifest.getPolicyVersionBefore();
        Map<String, Double> values = new LinkedHashMap<>(t.result.metrics());
        int tokens = 0;
        for (TrainingSample s : batch.samples()) {
            tokens += s.queryTokens().length + s.responseTokens().length;
        }
        t.heldOut.ifPresent(v -> values.put("eval/heldout_score", v));
        values.put("soup_version", (double) state.soup().version());
        values.put("policy_version", (double) versionBefore);
        values.put("learner/records", (double) batch.recordCount());
        values.put("learner/dropped_stale", (double) batch.droppedStale());
        values.put("learner/dropped_groups", (double) batch.droppedGroups());
        values.put("learner/rejected", (double) rejectedTotal);
        values.put("time/train_step_s", t.trainSeconds);
        values.put("tokens_per_s", tokens / t.trainSeconds);
        boolean due = t.manifest.getPolicyVersionAfter() != versionBefore;
        return new Outcome(t.step, t.result, t.heldOut, t.verdict, t.manifest, due,
                Collections.unmodifiableMap(values), t.trainSeconds, batch);
    }

    /**
     * Re-trains the recorded step {@code recorded} on {@code batch} (a restart catching up, or a replay): the same
     * maths as {@link #step}, after which the state carries the recorded manifest and policy version.
     *
     * @throws IllegalStateException when the step skips a different number of optimiser steps for non-finite
     *     gradients than the original did (the replay has diverged); the state is then unchanged
     */
    public void replayStep(TrainingBatch batch, BatchManifest recorded) throws IOException {
        train(batch, recorded);
        state = state.withRecorded(recorded.getPolicyVersionAfter(), recorded);
    }

    /** Makes {@code reference} the KL reference from the next step on, recording {@code soup} in the state. */
    public void useReference(PolicyTrainer.PreparedReference reference, LearnerState.SoupRef soup) {
        policy.swapReference(reference);
        state = state.withSoup(soup);
    }

    /** Records a published checkpoint: the policy is now at its version. */
    public void recordCheckpoint(LearnerState.CheckpointRef checkpoint) {
        state = state.withCheckpoint(checkpoint);
    }

    /**
     * Moves to policy version {@code version} without a step: a replay from the start passing a checkpoint that
     * was taken between steps (at a soup swap).
     */
    public void passCheckpoint(long version) {
        if (version < state.policyVersion()) {
            throw new IllegalArgumentException("policy version " + version + " is behind " + state.policyVersion());
        }
        state = state.withPolicyVersion(version);
    }

    /** One step's maths and state change, shared by live steps and replays ({@code recorded} non-null). */
    private Trained train(TrainingBatch batch, BatchManifest recorded) throws IOException {
        long step = state.step() + 1;
        long seed = settings.stepSeeds().applyAsLong(step);
        long versionBefore = state.policyVersion();
        long t0 = System.nanoTime();
        PpoStep.Result result;
        try {
            result = policy.step(batch.samples(), state.kl().value(), seed);
        } catch (GradScaler.NonFiniteGradientsException e) {
            throw new NonFiniteStepException("run " + settings.runId() + " halted at step " + step + ": "
                    + e.getMessage() + "; nothing of this step was written", step);
        }
        double trainSeconds = (System.nanoTime() - t0) / 1e9;
        if (recorded != null && result.skippedNonFinite() != recorded.getSkippedNonFiniteSteps()) {
            throw new IllegalStateException("replay of run " + settings.runId() + " step " + step + " diverged: the "
                    + "original skipped " + recorded.getSkippedNonFiniteSteps() + " optimiser steps for a non-finite "
                    + "gradient, the replay " + result.skippedNonFinite());
        }
        // with every optimiser step skipped there are no losses to average; the KL comes from before any update
        boolean updated = result.skippedNonFinite() < settings.ppo().optimizerStepsPerBatch();
        for (String key : FINITE_KEYS) {
            if (!updated && !key.startsWith("objective/")) {
                continue;
            }
            double v = result.metrics().get(key);
            if (!Double.isFinite(v)) {
                // stop before a NaN reaches the KL controller, a checkpoint or a manifest
                throw new NonFiniteStepException("run " + settings.runId() + " step " + step + ": " + key + " is " + v
                        + "; the policy weights or gradients are not finite, nothing of this step was written", step);
            }
        }
        KlController kl = state.kl().update(result.meanKl(), settings.ppo().batchSize());
        OptionalDouble heldOutScore = heldOut.score(step);
        KlHackGuard.Verdict verdict = state.guard().observe(new KlHackGuard.Observation(result.meanResponseLength(),
                result.meanKl(), result.meanScore(), heldOutScore));
        if (verdict.raiseBeta()) {
            kl = kl.withValue(kl.value() * settings.guard().raiseBetaFactor());
        }
        Map<String, Long> positions = new TreeMap<>(state.positions());
        for (OffsetRange r : batch.ranges()) {
            positions.merge(LearnerState.positionKey(r.getTopic(), r.getPartition()), r.getUntilOffset(), Math::max);
        }
        boolean save = settings.saveSteps() > 0 && step % settings.saveSteps() == 0;
        long versionAfter = save ? versionBefore + 1 : versionBefore;
        BatchManifest manifest = new BatchManifest(settings.runId(), step, seed, batch.ranges(), batch.recordCount(),
                batch.droppedStale(), state.soup().recipe(), state.soup().version(), versionBefore, versionAfter,
                System.currentTimeMillis(), result.skippedNonFinite(), batch.droppedGroups());
        state = state.afterStep(step, kl, verdict.next(), positions, manifest);
        return new Trained(step, result, heldOutScore, verdict, manifest, trainSeconds);
    }

    private record Trained(long step, PpoStep.Result result, OptionalDouble heldOut, KlHackGuard.Verdict verdict,
            BatchManifest manifest, double trainSeconds) {}

    /** Closes the held-out scorer and the policy. */
    @Override
    public void close() {
        try {
            heldOut.close();
        } finally {
            policy.close();
        }
    }
}
