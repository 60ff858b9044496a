package io.salsa.runtime.follow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.BlobRef;
import io.salsa.runtime.blob.BlobIntegrityException;
import io.salsa.runtime.blob.LocalBlobStore;
import io.salsa.runtime.blob.ModelFolderStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generic follower against a real local blob store and the verified folder cache. */
class LatestModelFollowerTest {

    /** What a topic would announce: a version and the blob of its model folder. */
    record Announcement(long version, BlobRef blob) { }

    /** A "model": the weights file of its folder, and whether it was closed. */
    static final class Model implements AutoCloseable {
        final long version;
        final String weights;
        final AtomicBoolean closed = new AtomicBoolean();

        Model(long version, String weights) {
            this.version = version;
            this.weights = weights;
        }

        @Override
        public void close() {
            closed.set(true);
        }
    }

    @TempDir
    Path dir;
    private LocalBlobStore blobs;
    private ModelFolderStore folders;
    private final List<Model> built = new CopyOnWriteArrayList<>();
    /** What the inline followers' listener was told, in order. */
    private final List<String> told = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        blobs = new LocalBlobStore(dir.resolve("blobs"));
        folders = new ModelFolderStore(blobs, dir.resolve("cache"));
    }

    private Announcement publish(long version) throws IOException {
        Path folder = Files.createDirectories(dir.resolve("src").resolve("v" + version));
        Files.writeString(folder.resolve("weights"), "weights of v" + version);
        return new Announcement(version, folders.putFolder(folder, "models/m-v" + version));
    }

    private Model build(Announcement a, Path folder) throws IOException {
        Model m = new Model(a.version(), Files.readString(folder.resolve("weights")));
        built.add(m);
        return m;
    }

    /** A follower that loads on the caller's thread, so each offer has finished when it returns. */
    private LatestModelFollower<Announcement, Model> inline(LatestModelFollower.FolderLoader<Announcement, Model> b) {
        return new LatestModelFollower<>("test", a -> "v" + a.version(),
                LatestModelFollower.byVersion(Announcement::version, 0),
                LatestModelFollower.fetching(folders, Announcement::blob, b), Runnable::run,
                new LatestModelFollower.Listener<>() {
                    @Override
                    public void ready(Announcement a) {
                        told.add("ready v" + a.version());
                    }

                    @Override
                    public void failed(LatestModelFollower.Failure<Announcement> failure) {
                        told.add("failed v" + failure.announcement().version());
                    }
                });
    }

    @Test
    void shouldHandANewerVersionOverOnlyWhenTheHolderAsks() throws Exception {
        try (LatestModelFollower<Announcement, Model> f = inline(this::build)) {
            assertFalse(f.offer(publish(0)), "not newer than the version in use");
            assertTrue(f.offer(publish(1)));
            LatestModelFollower.Loaded<Announcement, Model> v1 = f.takeIfNewer();
            assertEquals(1, v1.announcement().version());
            assertEquals("weights of v1", v1.model().weights, "the model was built from the verified folder");
            assertNull(f.takeIfNewer(), "nothing newer");

            Announcement v2 = publish(2);
            f.offer(v2);
            assertFalse(v1.model().closed.get(), "the model in use belongs to its holder until it switches");
            f.offer(publish(3));
            assertTrue(built.get(1).closed.get(), "v2, replaced before anyone took it, is closed");
            LatestModelFollower.Loaded<Announcement, Model> v3 = f.takeIfNewer();
            assertEquals(3, v3.model().version);
            assertFalse(f.offer(v2), "older versions are refused");
            assertNull(f.takeIfNewer());
            assertEquals(0, f.failures());
            assertEquals(3, f.loads());
            v1.model().close();
            v3.model().close();
        }
    }

    @Test
    void shouldKeepTheOldModelAndCountASha256Mismatch() throws Exception {
        try (LatestModelFollower<Announcement, Model> f = inline(this::build)) {
            Announcement first = publish(1);
            f.offer(first);
            Model v1 = f.takeIfNewer().model();
            Announcement good = publish(2);
            Announcement tampered = new Announcement(2, BlobRef.newBuilder(good.blob()).setSha256("0".repeat(64)).build());
            assertTrue(f.offer(tampered));
            assertNull(f.takeIfNewer(), "nothing unverified is handed over");
            assertFalse(v1.closed.get(), "the old model stays in use");
            assertEquals(1, f.failures());
            assertInstanceOf(BlobIntegrityException.class, f.lastFailure().error());
            assertEquals(2, f.lastFailure().announcement().version());
            assertFalse(f.offer(first), "a failure does not lower the bar below the model in use");

            assertTrue(f.offer(good), "announcing the version again retries it");
            assertEquals("weights of v2", f.takeIfNewer().model().weights);
            assertEquals(1, f.failures());
        }
    }

    @Test
    void shouldKeepTheOldModelWhenTheLoaderThrows() throws Exception {
        try (LatestModelFollower<Announcement, Model> f = inline((a, folder) -> {
            if (a.version() == 2) {
                throw new IOException("cannot parse the weights of v2");
            }
            return build(a, folder);
        })) {
            f.offer(publish(1));
            Model v1 = f.takeIfNewer().model();
            f.offer(publish(2));
            assertNull(f.takeIfNewer());
            assertFalse(v1.closed.get());
            assertEquals(1, f.failures());
            assertEquals("IOException: cannot parse the weights of v2", f.lastFailure().reason());
            f.offer(publish(3));
            assertEquals(3, f.takeIfNewer().model().version, "the next version is taken as usual");
            assertEquals(List.of("ready v1", "failed v2", "ready v3"), told);
        }
    }

    @Test
    void shouldCloseTheUntakenModelOnCloseAndRefuseLaterOffers() throws Exception {
        LatestModelFollower<Announcement, Model> f = inline(this::build);
        f.offer(publish(1));
        Model taken = f.takeIfNewer().model();
        f.offer(publish(2));
        Model current = built.get(1);
        f.close();
        assertTrue(current.closed.get(), "close closes the model it still holds");
        assertFalse(taken.closed.get(), "a taken model belongs to its taker");
        assertFalse(f.offer(publish(3)));
        assertNull(f.takeIfNewer());
        assertNull(f.await(Duration.ofSeconds(5)), "a closed follower does not make anyone wait");
        f.close(); // idempotent
    }

    @Test
    void shouldLoadOnItsOwnThreadAndSkipAnAnnouncementSupersededWhileItWaited() throws Exception {
        CountDownLatch loading = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch handedOver = new CountDownLatch(2);
        List<String> threads = new CopyOnWriteArrayList<>();
        LatestModelFollower<Announcement, Model> f = new LatestModelFollower<>("own-loader", a -> "v" + a.version(),
                LatestModelFollower.byVersion(Announcement::version, 0),
                LatestModelFollower.fetching(folders, Announcement::blob, (a, folder) -> {
                    threads.add(Thread.currentThread().getName());
                    if (a.version() == 1) {
                        loading.countDown();
                        release.await();
                    }
                    return build(a, folder);
                }), null, new LatestModelFollower.Listener<>() {
                    @Override
                    public void ready(Announcement announcement) {
                        handedOver.countDown();
                    }
                });
        try {
            Announcement v1 = publish(1);
            Announcement v2 = publish(2);
            Announcement v3 = publish(3);
            assertTrue(f.offer(v1));
            assertTrue(loading.await(30, TimeUnit.SECONDS));
            assertTrue(f.offer(v2));
            assertTrue(f.offer(v3));
            release.countDown();
            assertTrue(handedOver.await(30, TimeUnit.SECONDS));
            LatestModelFollower.Loaded<Announcement, Model> newest = f.takeIfNewer();
            assertSame(v3, newest.announcement());
            assertEquals(List.of(1L, 3L), built.stream().map(m -> m.version).toList(), "v2 was never loaded");
            assertTrue(built.get(0).closed.get(), "v1 was replaced before it was taken");
            assertEquals(List.of("own-loader", "own-loader"), threads);
            newest.model().close();
        } finally {
            f.close();
        }
    }

    @Test
    void shouldWaitForTheFirstModel() throws Exception {
        LatestModelFollower<Announcement, Model> f = new LatestModelFollower<>("await", a -> "v" + a.version(),
                LatestModelFollower.byVersion(Announcement::version, 0),
                LatestModelFollower.fetching(folders, Announcement::blob, this::build));
        try {
            f.offer(publish(1));
            LatestModelFollower.Loaded<Announcement, Model> first = f.await(Duration.ofSeconds(30));
            assertNotNull(first);
            assertEquals(1, first.model().version);
            first.model().close();
        } finally {
            f.close();
        }
    }

    @Test
    void shouldWakeAWaiterAndRefuseTakesOnceItsFeederFails() throws Exception {
        LatestModelFollower<Announcement, Model> f = new LatestModelFollower<>("feeder", a -> "v" + a.version(),
                LatestModelFollower.byVersion(Announcement::version, 0),
                LatestModelFollower.fetching(folders, Announcement::blob, this::build));
        try {
            CountDownLatch waiting = new CountDownLatch(1);
            CompletableFuture<Throwable> waiter = CompletableFuture.supplyAsync(
                    () -> {
                        waiting.countDown();
                        try {
                            f.await(Duration.ofMinutes(5));
                            return null;
                        } catch (IllegalStateException | InterruptedException e) {
                            return e;
                        }
                    });
            assertTrue(waiting.await(30, TimeUnit.SECONDS));
            IOException cause = new IOException("topic unreadable");
            f.fail(cause);
            Throwable woke = waiter.get(30, TimeUnit.SECONDS);
            assertInstanceOf(IllegalStateException.class, woke);
            assertSame(cause, woke.getCause());
            assertThrows(IllegalStateException.class, f::takeIfNewer);
            assertFalse(f.offer(publish(1)));
        } finally {
            f.close();
        }
    }

    @Test
    void shouldBreakOnAnErrorThatIsNotALoadFailure() throws Exception {
        try (LatestModelFollower<Announcement, Model> f = inline((a, folder) -> {
            throw new AssertionError("a bug, not a bad model");
        })) {
            f.offer(publish(1));
            IllegalStateException e = assertThrows(IllegalStateException.class, f::takeIfNewer);
            assertInstanceOf(AssertionError.class, e.getCause());
            assertFalse(f.offer(publish(2)), "a broken follower loads nothing more");
        }
    }
}
