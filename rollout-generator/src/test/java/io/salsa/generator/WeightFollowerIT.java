package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.BlobRef;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.SoupManifest;
import io.salsa.events.SoupMember;
import io.salsa.events.SoupMethod;
import io.salsa.runtime.blob.LocalBlobStore;
import io.salsa.schemas.Topics;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generator's follower on its own (toy weights, real blob store and broker): initial weights from the newest
 * soup that loads, then checkpoints of the followed run only, loaded off the caller's thread and handed over when
 * asked; a configured initial folder that cannot load stops it.
 */
@ExtendWith(KafkaExtension.class)
class WeightFollowerIT {

    @TempDir
    Path dir;

    /** The shipped fetcher, recording each fetch (in order) and able to hold one blob's fetch until released. */
    static final class RecordingFetcher implements WeightFetcher {
        final BlockingQueue<String> fetched = new LinkedBlockingQueue<>();
        final CountDownLatch release = new CountDownLatch(1);
        private final WeightFetcher delegate;
        volatile String holdUri;

        RecordingFetcher(WeightFetcher delegate) {
            this.delegate = delegate;
        }

        @Override
        public Path fetch(BlobRef blob) throws IOException {
            fetched.add(blob.getUri());
            if (blob.getUri().equals(holdUri)) {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return delegate.fetch(blob);
        }
    }

    private BlobRef weights(LocalBlobStore store, int tag) throws IOException {
        Path folder = ToySampler.writeFolder(dir.resolve("src").resolve("w" + tag), tag);
        io.salsa.runtime.blob.BlobRef ref = store.put(folder, "weights/w" + tag + ".tar");
        return BlobRef.newBuilder().setUri(ref.uri().toString()).setSha256(ref.sha256()).setSizeBytes(ref.size()).build();
    }

    private static SoupManifest soup(long version, BlobRef blob) {
        return new SoupManifest(GeneratorConfig.DEFAULT_SOUP_RECIPE, version, "base", SoupMethod.UNIFORM,
                List.of(new SoupMember("m" + version, blob, 1.0)), blob, 0L);
    }

    private static PolicyCheckpoint checkpoint(String run, long version, BlobRef blob) {
        return PolicyCheckpoint.newBuilder().setRunId(run).setVersion(version).setStep(version).setBlob(blob)
                .setSoupRecipe(GeneratorConfig.DEFAULT_SOUP_RECIPE).setSoupVersion(1).setInitFrom("soup:default@1")
                .setCreatedAtMs(0).build();
    }

    @Test
    void shouldStartFromTheNewestSoupThatLoadsThenFollowOnlyTheRunsCheckpoints(TestKafka kafka) throws Exception {
        LocalBlobStore store = new LocalBlobStore(dir.resolve("blobs"));
        RecordingFetcher fetcher = new RecordingFetcher(new BlobWeightFetcher(store, dir.resolve("cache")));
        List<ToySampler> opened = new CopyOnWriteArrayList<>();
        SamplerFactory samplers = (folder, device) -> {
            ToySampler s = new ToySampler(ToySampler.readTag(folder), 0);
            opened.add(s);
            return s;
        };
        try (GenHarness h = new GenHarness(kafka, "follow", dir.resolve("state"))) {
            GeneratorConfig config = h.config("SALSA_GENERATOR_INITIAL_WEIGHTS", "soup",
                    "SALSA_GENERATOR_POLICY_RUN_ID", "run-f");
            BlobRef tampered = BlobRef.newBuilder(weights(store, 1)).setSha256("0".repeat(64)).build();
            h.publish(Topics.SOUP, GeneratorConfig.DEFAULT_SOUP_RECIPE, soup(1, tampered));
            LoadedPolicy initial;
            LoadedPolicy v1;
            try (WeightFollower follower = new WeightFollower(h.settings, config, samplers, fetcher)) {
                follower.start();
                assertEquals(tampered.getUri(), fetcher.fetched.poll(60, TimeUnit.SECONDS));
                BlobRef soup2 = weights(store, 2);
                h.publish(Topics.SOUP, GeneratorConfig.DEFAULT_SOUP_RECIPE, soup(2, soup2));

                initial = follower.awaitInitial(Duration.ofSeconds(60));
                assertNotNull(initial, "the next soup is taken after one that fails verification");
                assertEquals(soup2.getUri(), fetcher.fetched.poll());
                assertEquals("run-f", initial.runId());
                assertEquals(0, initial.version());
                assertEquals("soup:default@2", initial.source());
                assertEquals(2, ((ToySampler) initial.sampler()).weightsTag);
                assertEquals(1, follower.skippedCheckpoints());

                BlobRef c1 = weights(store, 5);
                BlobRef c2 = weights(store, 6);
                fetcher.holdUri = c2.getUri();
                h.publish(Topics.POLICY, "other-run", checkpoint("other-run", 9, weights(store, 9)));
                h.publish(Topics.POLICY, "run-f", checkpoint("run-f", 1, c1));
                assertEquals(c1.getUri(), fetcher.fetched.poll(60, TimeUnit.SECONDS), "other runs are not followed");
                h.publish(Topics.POLICY, "run-f", checkpoint("run-f", 2, c2));
                // one loader thread: once v2's fetch started, v1 was handed over
                assertEquals(c2.getUri(), fetcher.fetched.poll(60, TimeUnit.SECONDS));
                v1 = follower.takeNewer();
                assertNotNull(v1);
                assertEquals(1, v1.version());
                assertEquals(5, ((ToySampler) v1.sampler()).weightsTag);
                assertNull(follower.takeNewer(), "v2 is still loading");
                assertEquals(2, follower.publishedVersion());
                assertTrue(!((ToySampler) initial.sampler()).closed && !((ToySampler) v1.sampler()).closed,
                        "weights handed over belong to the generation loop");
                fetcher.release.countDown();
            } finally {
                fetcher.release.countDown();
            }
            ToySampler v2 = opened.get(opened.size() - 1);
            assertEquals(6, v2.weightsTag);
            assertTrue(v2.closed, "weights loaded but never taken are closed with the follower");
            initial.close();
            v1.close();
        }
    }

    @Test
    void shouldStartFromTheSoupWhenTheRunsCheckpointCannotLoad(TestKafka kafka) throws Exception {
        LocalBlobStore store = new LocalBlobStore(dir.resolve("blobs"));
        RecordingFetcher fetcher = new RecordingFetcher(new BlobWeightFetcher(store, dir.resolve("cache")));
        try (GenHarness h = new GenHarness(kafka, "fallback", dir.resolve("state"))) {
            GeneratorConfig config = h.config("SALSA_GENERATOR_INITIAL_WEIGHTS", "soup",
                    "SALSA_GENERATOR_POLICY_RUN_ID", "run-f");
            BlobRef soup = weights(store, 3);
            BlobRef tampered = BlobRef.newBuilder(weights(store, 4)).setSha256("0".repeat(64)).build();
            h.publish(Topics.SOUP, GeneratorConfig.DEFAULT_SOUP_RECIPE, soup(1, soup));
            h.publish(Topics.POLICY, "run-f", checkpoint("run-f", 7, tampered));
            try (WeightFollower follower = new WeightFollower(h.settings, config, ToySampler.factory(0), fetcher)) {
                follower.start();
                try (LoadedPolicy initial = follower.awaitInitial(Duration.ofSeconds(60))) {
                    assertNotNull(initial);
                    assertEquals(List.of(tampered.getUri(), soup.getUri()), List.copyOf(fetcher.fetched),
                            "the run's checkpoint first; the soup once it failed");
                    assertEquals("soup:default@1", initial.source());
                    assertEquals(0, initial.version());
                    assertEquals(1, follower.skippedCheckpoints());
                    assertEquals(7, follower.publishedVersion(), "the published version counts for staleness");
                }
            }
        }
    }

    @Test
    void shouldStopWhenTheConfiguredInitialFolderCannotLoad(TestKafka kafka) throws Exception {
        Path empty = Files.createDirectories(dir.resolve("not-a-model"));
        try (GenHarness h = new GenHarness(kafka, "bad-folder", dir.resolve("state"))) {
            GeneratorConfig config = h.config("SALSA_GENERATOR_INITIAL_WEIGHTS", empty.toString());
            try (WeightFollower follower = new WeightFollower(h.settings, config, ToySampler.factory(0),
                    GeneratorAppIT.NO_BLOBS)) {
                follower.start();
                IllegalStateException e = assertThrows(IllegalStateException.class,
                        () -> follower.awaitInitial(Duration.ofSeconds(60)));
                assertInstanceOf(IOException.class, e.getCause());
            }
        }
    }
}
