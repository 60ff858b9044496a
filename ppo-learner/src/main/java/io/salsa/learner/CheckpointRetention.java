package io.salsa.learner;

import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which checkpoints of a run keep their blobs, so that a long run's checkpoints do not fill the blob store (the
 * demo writes 121 for 120 steps): every {@code checkpoint_keep_every}-th version and the newest
 * {@code checkpoint_keep_last}, and always what a running generator or a restart needs. Both 0 (the default) keeps
 * every checkpoint, as before.
 *
 * <p>Always kept, whatever the settings: the newest checkpoint (generators follow it; a restart resumes from it),
 * the checkpoint this process resumed from, and soup-boundary checkpoints (taken when a new soup became the
 * reference: a step whose number is not a multiple of {@code save_steps}, or a second checkpoint at one step).
 * Deleting a checkpoint removes its policy and optimiser blobs; its entry in later cards stays, with the sha256 of
 * its weights, so a replay still compares it.
 *
 * @param keepEvery keep versions that are multiples of this ({@code checkpoint_keep_every}); 0 = none by this rule
 * @param keepLast  keep the newest this many versions ({@code checkpoint_keep_last}); 0 = only the newest
 */
public record CheckpointRetention(int keepEvery, int keepLast) {

    /** Keeps every checkpoint: the default. */
    public static final CheckpointRetention KEEP_ALL = new CheckpointRetention(0, 0);

    public CheckpointRetention {
        if (keepEvery < 0) {
            throw new IllegalArgumentException("checkpoint_keep_every must be >= 0, 0 = off (got " + keepEvery + ")");
        }
        if (keepLast < 0) {
            throw new IllegalArgumentException("checkpoint_keep_last must be >= 0, 0 = off (got " + keepLast + ")");
        }
    }

    /** Whether any checkpoint can be deleted: false with both settings 0. */
    public boolean enabled() {
        return keepEvery > 0 || keepLast > 0;
    }

    /**
     * The versions among {@code checkpoints} whose blobs must stay.
     *
     * @param saveSteps   the run's {@code save_steps}, which tells regular checkpoints from soup-boundary ones
     * @param resumedFrom the version this process resumed from, or -1 for a fresh run
     */
    public Set<Long> keep(List<LearnerState.CheckpointRef> checkpoints, int saveSteps, long resumedFrom) {
        Set<Long> keep = new TreeSet<>();
        if (checkpoints.isEmpty()) {
            return keep;
        }
        List<LearnerState.CheckpointRef> newestFirst = checkpoints.stream()
                .sorted(Comparator.comparingLong(LearnerState.CheckpointRef::version).reversed()).toList();
        if (!enabled()) {
            newestFirst.forEach(c -> keep.add(c.version()));
            return keep;
        }
        for (int i = 0; i < Math.max(1, keepLast) && i < newestFirst.size(); i++) {
            keep.add(newestFirst.get(i).version());
        }
        Set<Long> stepsSeen = new TreeSet<>();
        for (LearnerState.CheckpointRef c : checkpoints.stream()
                .sorted(Comparator.comparingLong(LearnerState.CheckpointRef::version)).toList()) {
            boolean secondAtItsStep = !stepsSeen.add(c.step());
            boolean boundary = c.version() > 0 && (c.step() % saveSteps != 0 || secondAtItsStep);
            if (boundary || c.version() == resumedFrom || (keepEvery > 0 && c.version() % keepEvery == 0)) {
                keep.add(c.version());
            }
        }
        return keep;
    }
}
