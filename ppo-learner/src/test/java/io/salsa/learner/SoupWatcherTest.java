package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.BlobRef;
import io.salsa.events.SoupManifest;
import io.salsa.events.SoupMember;
import io.salsa.events.SoupMethod;
import io.salsa.learner.ppo.PpoStep;
import io.salsa.learner.ppo.TrainingSample;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The learner's soup follower: only newer soups of its recipe, verified, prepared off the training thread. */
@ExtendWith(KafkaExtension.class)
class SoupWatcherTest {

    /** A prepared "reference": the name written in its soup folder. */
    record Reference(String name, AtomicBoolean closed) implements PolicyTrainer.PreparedReference {
        @Override
        public void close() {
            closed.set(true);
        }
    }

    /** The one trainer call the watcher makes; the training side is not part of this test. */
    static final class ReferencePreparer implements PolicyTrainer {
        final List<Reference> prepared = new CopyOnWriteArrayList<>();
        final List<String> threads = new CopyOnWriteArrayList<>();
        final CountDownLatch v3Prepared = new CountDownLatch(1);
        final CountDownLatch v4Started = new CountDownLatch(1);
        final CountDownLatch releaseV4 = new CountDownLatch(1);

        @Override
        public PreparedReference prepareReference(Path modelFolder) throws IOException {
            String name = Files.readString(modelFolder.resolve("name"));
            threads.add(Thread.currentThread().getName());
            if (name.equals("v4")) {
                v4Started.countDown();
                try {
                    releaseV4.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            Reference r = new Reference(name, new AtomicBoolean());
            prepared.add(r);
            if (name.equals("v3")) {
                v3Prepared.countDown();
            }
            return r;
        }

        @Override
        public PpoStep.Result step(List<TrainingSample> batch, double klCoef, long seed) {
            throw new UnsupportedOperationException("the soup watcher never trains");
        }

        @Override
        public void swapReference(PreparedReference reference) {
            throw new UnsupportedOperationException("the learner swaps, not the watcher");
        }

        @Override
        public int vocabSize() {
            throw new UnsupportedOperationException("not used by the soup watcher");
        }

        @Override
        public int maxLength() {
            throw new UnsupportedOperationException("not used by the soup watcher");
        }

        @Override
        public void savePolicy(Path folder) {
            throw new UnsupportedOperationException("not used by the soup watcher");
        }

        @Override
        public void saveOptimizer(Path file) {
            throw new UnsupportedOperationException("not used by the soup watcher");
        }

        @Override
        public void restore(Path policyFolder, Path optimizerFile) {
            throw new UnsupportedOperationException("not used by the soup watcher");
        }

        @Override
        public void close() {
        }
    }

    @TempDir
    Path tmp;

    private BlobRef soupFolder(ModelFolderStore store, String name) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("soups").resolve(name));
        Files.writeString(dir.resolve("name"), name);
        return store.putFolder(dir, "test/soup-" + name);
    }

    private static void publish(KafkaSettings kafka, String recipe, long version, BlobRef blob) throws Exception {
        SoupManifest m = new SoupManifest(recipe, version, "tiny-base", SoupMethod.UNIFORM,
                List.of(new SoupMember("m" + version, blob, 1.0)), blob, System.currentTimeMillis());
        String topic = kafka.topic(Topics.SOUP);
        try (KafkaProducer<String, byte[]> p = LearnerFixture.producer(kafka)) {
            p.send(new ProducerRecord<>(topic, recipe, kafka.valueSerde(Topics.SOUP).serialize(topic, m))).get();
        }
    }

    @Test
    void shouldHandOverOnlyNewerVerifiedSoupsOfItsRecipe(TestKafka broker) throws Exception {
        KafkaSettings kafka = KafkaSettings.embedded(broker.bootstrapServers(), "watch.");
        LearnerFixture.ensureTopics(kafka);
        ModelFolderStore store = LearnerFixture.store(tmp.resolve("blobs"));
        String recipe = LearnerFixture.RECIPE;
        publish(kafka, recipe, 1, soupFolder(store, "v1"));
        BlobRef v2 = soupFolder(store, "v2");
        publish(kafka, recipe, 2, BlobRef.newBuilder(v2).setSha256("0".repeat(64)).build());
        publish(kafka, "another-recipe", 9, soupFolder(store, "other"));
        publish(kafka, recipe, 3, soupFolder(store, "v3"));
        ReferencePreparer trainer = new ReferencePreparer();

        SoupWatcher watcher = new SoupWatcher(kafka, recipe, 1, store, trainer);
        Reference v4;
        try {
            assertTrue(trainer.v3Prepared.await(60, TimeUnit.SECONDS));
            publish(kafka, recipe, 4, soupFolder(store, "v4"));
            // loads run one after another on one thread: once v4's started, v3 was handed over
            assertTrue(trainer.v4Started.await(60, TimeUnit.SECONDS));
            SoupWatcher.Ready ready = watcher.take();
            assertNotNull(ready);
            assertEquals(3, ready.manifest().getVersion());
            assertEquals("v3", ((Reference) ready.reference()).name());
            assertEquals(List.of("v3"), trainer.prepared.stream().map(Reference::name).toList(),
                    "the soup in use, a soup failing verification and other recipes never reach the trainer");
            assertEquals(List.of("soup-watcher-" + recipe), trainer.threads.subList(0, 1),
                    "prepared on the watcher's loader thread, not the caller's");
            trainer.releaseV4.countDown();
        } finally {
            trainer.releaseV4.countDown();
            watcher.close();
        }
        v4 = trainer.prepared.get(trainer.prepared.size() - 1);
        assertEquals("v4", v4.name());
        assertTrue(v4.closed().get(), "a soup loaded but never taken is closed with the watcher");
    }
}
