package io.salsa.scorer;

import io.salsa.events.RewardModelCheckpoint;
import io.salsa.runtime.follow.LatestModelFollower;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds the reward model in service and swaps in newer checkpoints atomically between batches: a
 * {@link LatestModelFollower} loads a new model completely in the background before it becomes visible, a batch
 * keeps the model it started with ({@link Lease}), and a model that fails to load leaves the old one in service.
 */
public final class RewardModelSlot implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RewardModelSlot.class);

    private final String followedName;
    private final LatestModelFollower<RewardModelCheckpoint, RewardScorerModel> follower;

    // All mutable state is guarded by "this": swaps are rare, so a monitor is simpler than lock-free tricks.
    // Lock order: the follower's monitor may be held while this one is taken (its newer-than test), never the reverse.
    private Entry current;
    private long swaps;
    private boolean closed;

    /**
     * @param followedName only checkpoints with this reward-model name are loaded
     * @param loader       loads a checkpoint's weights (fetch, sha256 verification, model build)
     * @param loadExecutor where loads run; a background thread in production, the caller's thread in tests
     */
    public RewardModelSlot(String followedName, RewardModelLoader loader, Executor loadExecutor) {
        this.followedName = Objects.requireNonNull(followedName, "followedName");
        Objects.requireNonNull(loader, "loader");
        this.follower = new LatestModelFollower<>("reward-model-" + followedName,
                cp -> "reward model " + cp.getName() + " v" + cp.getVersion() + " (" + cp.getBlob().getUri() + ")",
                this::supersedes, loader::load, Objects.requireNonNull(loadExecutor, "loadExecutor"),
                new LatestModelFollower.Listener<>() {
                    @Override
                    public void ready(RewardModelCheckpoint checkpoint) {
                        swapInLoaded();
                    }
                });
    }

    public String followedName() {
        return followedName;
    }

    /** Puts an already loaded model in service (the initial model from a local folder). */
    public void install(RewardScorerModel model) {
        swapIn(model);
    }

    /**
     * Starts loading {@code checkpoint} in the background if it is for the followed name and newer than the
     * model in service (or being loaded); returns at once.
     */
    public void offer(RewardModelCheckpoint checkpoint) {
        if (followedName.equals(checkpoint.getName())) {
            follower.offer(checkpoint);
        }
    }

    /** Newer than the model in service and than the one being loaded (a failed one no longer counts). */
    private boolean supersedes(RewardModelCheckpoint offered, RewardModelCheckpoint accepted) {
        long inService;
        synchronized (this) {
            inService = current == null ? Long.MIN_VALUE : current.model.version();
        }
        return offered.getVersion() > Math.max(inService, accepted == null ? Long.MIN_VALUE : accepted.getVersion());
    }

    /** Runs on the loader thread after each load: the swap needs no batch boundary, leases protect batches. */
    private void swapInLoaded() {
        LatestModelFollower.Loaded<RewardModelCheckpoint, RewardScorerModel> loaded = follower.takeIfNewer();
        if (loaded != null) {
            swapIn(loaded.model());
        }
    }

    private void swapIn(RewardScorerModel model) {
        Entry old;
        synchronized (this) {
            if (closed || (current != null && model.version() <= current.model.version())) {
                old = null;
            } else {
                old = current;
                current = new Entry(model);
                swaps++;
                notifyAll();
                model = null;
            }
        }
        if (model != null) {
            model.close(); // lost a race against a newer model, or the slot is closed
            return;
        }
        LOG.info("reward model in service: {}", describe());
        if (old != null) {
            old.retire();
        }
    }

    /**
     * The model in service, held until the lease is closed so a swap cannot close it under a running batch;
     * {@code null} while no model has been loaded yet.
     */
    public Lease acquire() {
        synchronized (this) {
            if (current == null) {
                return null;
            }
            current.users++;
            return new Lease(current);
        }
    }

    /** Waits until some model is in service; false on timeout. */
    public boolean awaitModel(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            while (current == null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return true;
        }
    }

    /** "name vN" of the model in service, or "no model". */
    public synchronized String describe() {
        return current == null ? "no model" : current.model.name() + " v" + current.model.version();
    }

    /** Version in service, or -1 before any model. */
    public synchronized long currentVersion() {
        return current == null ? -1 : current.model.version();
    }

    /** The reason the last failed load failed, or null. */
    public String lastFailure() {
        LatestModelFollower.Failure<RewardModelCheckpoint> f = follower.lastFailure();
        return f == null ? null : "v" + f.announcement().getVersion() + ": " + f.reason();
    }

    /** How many models have been put in service (initial one included). */
    public synchronized long swaps() {
        return swaps;
    }

    @Override
    public void close() {
        Entry last;
        synchronized (this) {
            closed = true;
            last = current;
            current = null;
        }
        follower.close(); // outside this monitor (lock order); a load that ends later is closed, not swapped in
        if (last != null) {
            last.retire();
        }
    }

    private final class Entry {
        final RewardScorerModel model;
        int users; // guarded by RewardModelSlot.this
        boolean retired;

        Entry(RewardScorerModel model) {
            this.model = model;
        }

        void retire() {
            boolean closeNow;
            synchronized (RewardModelSlot.this) {
                retired = true;
                closeNow = users == 0;
            }
            if (closeNow) {
                model.close();
            }
        }

        void release() {
            boolean closeNow;
            synchronized (RewardModelSlot.this) {
                users--;
                closeNow = retired && users == 0;
            }
            if (closeNow) {
                model.close();
            }
        }
    }

    /** The use of one model for one batch; closing it lets a retired model be freed. */
    public final class Lease implements AutoCloseable {
        private final Entry entry;
        private boolean released;

        private Lease(Entry entry) {
            this.entry = entry;
        }

        public RewardScorerModel model() {
            return entry.model;
        }

        @Override
        public void close() {
            if (!released) {
                released = true;
                entry.release();
            }
        }
    }
}
