package io.salsa.runtime.follow;

import io.salsa.events.BlobRef;
import io.salsa.runtime.blob.ModelFolderStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a service on the newest model announced for one key (a policy checkpoint, a soup, a reward model) without
 * ever stalling its hot thread: each newer announcement is fetched, verified and loaded on a loader thread, and the
 * loaded model is handed over only when the hot thread asks at its own boundary ({@link #takeIfNewer()}).
 *
 * <p>Announcements come from whoever reads the topic (a {@code KafkaLog} follower, a Kafka Streams processor, …)
 * through {@link #offer}; {@code supersedes} decides what is newer. Only the newest offer is loaded: one that was superseded
 * while it waited is skipped. A fetch or load that fails leaves the current model in use; it is logged and counted,
 * and not retried until it is announced again. A loaded model replaced before anyone took it, a model whose load
 * finished after {@link #close()}, and the untaken model at close are closed here; a model that was taken belongs to
 * the taker. An {@link Error} other than a {@link LinkageError} while loading, or {@link #fail}, breaks the follower:
 * the next take rethrows it.
 *
 * @param <A> the announcement (e.g. a {@code PolicyCheckpoint} record)
 * @param <M> the loaded model
 */
public final class LatestModelFollower<A, M extends AutoCloseable> implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LatestModelFollower.class);
    /** How long {@link #close()} waits for a load in flight on the follower's own thread. */
    private static final long CLOSE_WAIT_SECONDS = 30;

    /** Turns an announcement into a ready model (typically: fetch the verified folder, then load it). */
    @FunctionalInterface
    public interface Loader<A, M> {
        /** Loads completely, or throws; the follower then keeps the current model. */
        M load(A announcement) throws Exception;
    }

    /** Builds a model from the verified local folder of an announcement. */
    @FunctionalInterface
    public interface FolderLoader<A, M> {
        M load(A announcement, Path folder) throws Exception;
    }

    /** A loaded model with the announcement it came from; whoever takes it owns (and closes) the model. */
    public record Loaded<A, M>(A announcement, M model) { }

    /** Told on the loader thread what became of each load, after the follower's state was updated. */
    public interface Listener<A> {
        /** A newly loaded model of {@code announcement} can be taken (e.g. to swap it in at once behind leases). */
        default void ready(A announcement) {
        }

        /** A fetch or load failed; the current model stays, and {@code failure.announcement()} is no longer pending. */
        default void failed(Failure<A> failure) {
        }
    }

    /** A fetch or load that failed: what was announced and why. */
    public record Failure<A>(A announcement, Throwable error) {
        /** "ExceptionType: message", for logs and status lines. */
        public String reason() {
            return error.getClass().getSimpleName() + ": " + error.getMessage();
        }
    }

    private final String name;
    private final Function<A, String> describe;
    private final BiPredicate<A, A> supersedes;
    private final Loader<A, M> loader;
    private final Executor executor;
    /** The follower's own loader thread, or null when the caller provided the executor (and owns it). */
    private final ExecutorService ownExecutor;
    private final Listener<A> listener;

    // Guarded by "this": offers and hand-overs are rare, so a monitor is simpler than lock-free tricks.
    /** The newest announcement accepted for loading (in flight, loaded, or the last good one after a failure). */
    private A requested;
    /** The newest announcement that loaded. */
    private A good;
    private Loaded<A, M> ready;
    private Failure<A> lastFailure;
    private long failures;
    private long loads;
    private Throwable broken;
    private boolean closed;

    /**
     * A follower loading on its own daemon thread (named {@code name}).
     *
     * @param name       for logs and the loader thread
     * @param describe   an announcement in words, for logs ("policy r1 v3", …)
     * @param supersedes whether an offered announcement replaces the accepted one (the second argument, null when
     *                   none was accepted yet)
     * @param loader     fetches, verifies and loads an announcement's model; see {@link #fetching}
     */
    public LatestModelFollower(String name, Function<A, String> describe, BiPredicate<A, A> supersedes,
                               Loader<A, M> loader) {
        this(name, describe, supersedes, loader, null, null);
    }

    /**
     * A follower loading on {@code executor} and telling {@code listener} what became of each load.
     *
     * @param executor where loads run (the caller owns it); null for the follower's own daemon thread
     * @param listener told on the loader thread; null for none
     */
    public LatestModelFollower(String name, Function<A, String> describe, BiPredicate<A, A> supersedes,
                               Loader<A, M> loader, Executor executor, Listener<A> listener) {
        this.name = Objects.requireNonNull(name, "name");
        this.describe = Objects.requireNonNull(describe, "describe");
        this.supersedes = Objects.requireNonNull(supersedes, "supersedes");
        this.loader = Objects.requireNonNull(loader, "loader");
        this.listener = listener == null ? new Listener<>() { } : listener;
        if (executor == null) {
            this.ownExecutor = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            });
            this.executor = ownExecutor;
        } else {
            this.ownExecutor = null;
            this.executor = executor;
        }
    }

    /** Newer means a higher version than the accepted announcement's, or than {@code floor} before any. */
    public static <A> BiPredicate<A, A> byVersion(ToLongFunction<A> version, long floor) {
        return (offered, accepted) -> version.applyAsLong(offered)
                > (accepted == null ? floor : version.applyAsLong(accepted));
    }

    /**
     * A loader that fetches the announced folder through the verified cache ({@code BlobIntegrityException} on a
     * SHA-256 mismatch) and builds the model from it.
     */
    public static <A, M> Loader<A, M> fetching(ModelFolderStore folders, Function<A, BlobRef> blob,
                                               FolderLoader<A, M> build) {
        return announcement -> build.load(announcement, folders.fetchFolder(blob.apply(announcement)));
    }

    /**
     * Loads {@code announcement} in the background if it supersedes the accepted one; returns at once (unless the
     * executor runs tasks on the caller's thread).
     *
     * @return whether it was accepted for loading
     */
    public boolean offer(A announcement) {
        synchronized (this) {
            if (closed || broken != null || !supersedes.test(announcement, requested)) {
                return false;
            }
            requested = announcement;
        }
        LOG.info("{}: {} announced; loading it in the background", name, describe.apply(announcement));
        executor.execute(() -> load(announcement));
        return true;
    }

    private void load(A announcement) {
        synchronized (this) {
            if (closed || announcement != requested) {
                return; // a newer announcement came while this one waited: go straight to it
            }
        }
        long start = System.nanoTime();
        M model;
        try {
            model = loader.load(announcement);
        } catch (Exception | LinkageError e) {
            Failure<A> failure = new Failure<>(announcement, e);
            synchronized (this) {
                failures++;
                lastFailure = failure;
                if (requested == announcement) {
                    requested = good; // not retried by itself; announcing it again retries it
                }
            }
            LOG.error("{}: {} could not be loaded, keeping the current model: {}", name, describe.apply(announcement),
                    e.toString());
            tell(() -> listener.failed(failure), announcement);
            return;
        } catch (Throwable t) {
            synchronized (this) {
                broken = t;
                notifyAll();
            }
            LOG.error("{}: loading {} failed beyond recovery: {}", name, describe.apply(announcement), t.toString(), t);
            return;
        }
        Loaded<A, M> replaced = null;
        boolean accepted;
        synchronized (this) {
            accepted = !closed && (good == null || supersedes.test(announcement, good));
            if (accepted) {
                replaced = ready;
                ready = new Loaded<>(announcement, model);
                good = announcement;
                loads++;
                notifyAll();
            }
        }
        if (!accepted) {
            closeQuietly(model); // the follower was closed, or a newer model won a race on a parallel executor
            return;
        }
        if (replaced != null) {
            closeQuietly(replaced.model()); // never used: a newer one arrived before the hand-over
        }
        LOG.info("{}: {} loaded in {} ms; it is handed over at the next boundary", name, describe.apply(announcement),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        tell(() -> listener.ready(announcement), announcement);
    }

    private void tell(Runnable call, A announcement) {
        try {
            call.run();
        } catch (RuntimeException e) {
            LOG.error("{}: the listener failed on {}: {}", name, describe.apply(announcement), e.toString(), e);
        }
    }

    /**
     * The newest loaded model not taken yet, or null; the caller owns (and closes) what it takes.
     *
     * @throws IllegalStateException if loading failed beyond recovery
     */
    public synchronized Loaded<A, M> takeIfNewer() {
        rethrowBroken();
        Loaded<A, M> out = ready;
        ready = null;
        return out;
    }

    /**
     * Waits up to {@code timeout} for a loaded model and takes it; null on timeout or once closed.
     *
     * @throws IllegalStateException if loading failed beyond recovery
     */
    public synchronized Loaded<A, M> await(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (ready == null && !closed && broken == null) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return takeIfNewer();
    }

    /**
     * Breaks the follower on behalf of its feeder (the topic reader died, a configured model cannot load): waiters
     * wake, and every later take rethrows {@code cause}; the first cause wins.
     */
    public void fail(Throwable cause) {
        synchronized (this) {
            if (broken == null) {
                broken = Objects.requireNonNull(cause, "cause");
            }
            notifyAll();
        }
        LOG.error("{}: stopped following: {}", name, cause.toString());
    }

    /** Announcements whose fetch or load failed. */
    public synchronized long failures() {
        return failures;
    }

    /** Models loaded and handed over (or waiting to be taken). */
    public synchronized long loads() {
        return loads;
    }

    /** The last failed fetch or load, or null. */
    public synchronized Failure<A> lastFailure() {
        return lastFailure;
    }

    private void rethrowBroken() {
        if (broken != null) {
            throw new IllegalStateException(name + ": loading failed: " + broken, broken);
        }
    }

    /**
     * Stops following: later offers are ignored, the untaken model is closed, and the own loader thread is given
     * 30 s to finish a load in flight (whose model is then closed too when it ends).
     */
    @Override
    public void close() {
        Loaded<A, M> left;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            left = ready;
            ready = null;
            notifyAll();
        }
        if (left != null) {
            closeQuietly(left.model());
        }
        if (ownExecutor != null) {
            ownExecutor.shutdown();
            try {
                if (!ownExecutor.awaitTermination(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
                    LOG.warn("{}: a load still runs after {} s; its model is closed when it ends", name,
                            CLOSE_WAIT_SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void closeQuietly(M model) {
        try {
            model.close();
        } catch (Exception e) {
            LOG.warn("{}: closing a model failed: {}", name, e.toString());
        }
    }
}
