package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.events.BlobRef;
import io.salsa.model.lm.GptModel;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.ServiceRunner;
import io.salsa.schemas.KafkaSettings;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The learner as a {@code Service}: it opens its run inside {@code run()}, and a stop during the wait ends it. */
@ExtendWith(KafkaExtension.class)
class PpoLearnerServiceTest {

    @Test
    void aStopWhileWaitingForTheFirstSoupEndsTheRunCleanly(TestKafka broker, @TempDir Path tmp) throws Exception {
        KafkaSettings kafka = KafkaSettings.embedded(broker.bootstrapServers(), "nosoup.");
        LearnerFixture.ensureTopics(kafka);
        PpoLearner learner = PpoLearner.create(LearnerConfig.fromMap(LearnerFixture.settings("nosoup", 4, 4, 1)),
                kafka, LearnerFixture.store(tmp), LearnerFixture.gptFactory());
        assertEquals(Health.Status.STARTING, learner.health().status());
        ServiceRunner.Background running = ServiceRunner.start(learner);
        running.close();
        assertFalse(running.running());
        assertNull(running.failure());
        assertFalse(learner.isOpen());
        assertEquals(PpoTrainer.Stop.REQUESTED, learner.stopReason());
        assertEquals(Health.Status.DOWN, learner.health().status());
    }

    @Test
    void runOpensTheRunAndTrainsUntilMaxSteps(TestKafka broker, @TempDir Path tmp) throws Exception {
        KafkaSettings kafka = KafkaSettings.embedded(broker.bootstrapServers(), "service.");
        LearnerFixture.ensureTopics(kafka);
        ModelFolderStore store = LearnerFixture.store(tmp.resolve("blobs"));
        Path soupDir = LearnerFixture.tinyModel(tmp.resolve("soup"), 3);
        BlobRef soup = store.putFolder(soupDir, "test/soup");
        LearnerFixture.publishSoup(kafka, 1, soup);
        try (GptModel behaviour = GptModel.load(soupDir, GptModel.Head.NONE, Device.cpu())) {
            LearnerFixture.writeRollouts(kafka, behaviour, "service", 0, 8, 5, LearnerFixture.PREFER_LOW);
        }
        Map<String, String> settings = LearnerFixture.settings("service", 4, 4, 1);
        settings.put("max_steps", "2");
        PpoLearner learner = PpoLearner.create(LearnerConfig.fromMap(settings), kafka, store,
                LearnerFixture.gptFactory());
        try (ServiceRunner.Background running = ServiceRunner.start(learner)) {
            assertTrue(running.await(Duration.ofMinutes(3)), "two steps of a tiny model");
            assertNull(running.failure());
        }
        assertEquals(PpoTrainer.Stop.MAX_STEPS, learner.stopReason());
        assertEquals(2, learner.state().step());
        // v0 at the start and one checkpoint per step
        assertEquals(3, learner.state().checkpoints().size());
        assertEquals(new Health(Health.Status.DOWN, "stopped (MAX_STEPS) at step 2"), learner.health());
        assertEquals(2, LearnerFixture.manifests(kafka, "service").size());
    }
}
