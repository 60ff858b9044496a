package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.model.lm.GptModel;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.metrics.SalsaMetrics;
import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.ServiceRunner;
import io.salsa.schemas.KafkaSettings;
import io.salsa.testkit.Conditions;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.Probes;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
        ServiceRunner.Background running = ServiceRunner.start(learner, 0);
        // waiting for the first soup: alive, not ready
        assertEquals(200, Probes.get(running.probePort(), "/healthz").status());
        Probes.Reply ready = Probes.get(running.probePort(), "/readyz");
        assertEquals(503, ready.status());
        assertTrue(ready.body().startsWith("STARTING run nosoup"), ready.body());
        running.close();
        assertFalse(running.running());
        assertNull(running.failure());
        assertFalse(learner.isOpen());
        assertEquals(PpoTrainer.Stop.REQUESTED, learner.stopReason());
        assertEquals(Health.Status.DOWN, learner.health().status());
    }

    @Test
    void runOpensTheRunAndTrainsUntilMaxSteps(TestKafka broker, @TempDir Path tmp) throws Exception {
        LearnerFixture.World world = soupAndTwoBatches(broker, tmp, "service");
        KafkaSettings kafka = world.kafka();
        ModelFolderStore store = world.store();
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

    @Test
    void shouldServeProbesAndTheStepMetricsWhileTraining(TestKafka broker, @TempDir Path tmp) throws Exception {
        LearnerFixture.World world = soupAndTwoBatches(broker, tmp, "probes");
        KafkaSettings kafka = world.kafka();
        ModelFolderStore store = world.store();
        // no max_steps: after the two batches the rollouts hold, the learner waits (up) for more
        PpoLearner learner = PpoLearner.create(LearnerConfig.fromMap(LearnerFixture.settings("probes", 4, 4, 1)),
                kafka, store, LearnerFixture.gptFactory());
        try (ServiceRunner.Background running = ServiceRunner.start(learner, 0)) {
            Conditions.await("two steps", Duration.ofMinutes(3), () -> {
                running.checkHealthy();
                return learner.isOpen() && learner.state().step() >= 2;
            });
            String scrape = Probes.assertServing(running.probePort(), "kafka_consumer_", List.of(
                    "salsa_learner_objective_kl{run_id=\"probes\"}", "kafka_producer_"));
            assertTrue(scrape.contains("# TYPE salsa_learner_objective_kl gauge"), "TRL metrics are gauges");
        }
        assertFalse(SalsaMetrics.scrape().contains("run_id=\"probes\""), "the run's gauges leave with it");
    }

    /** The learner's world (topic prefix {@code runId.}) and 8 rollouts of run {@code runId}: two batches of 4. */
    private static LearnerFixture.World soupAndTwoBatches(TestKafka broker, Path tmp, String runId) throws Exception {
        LearnerFixture.World world = LearnerFixture.world(broker, runId + ".", tmp, 3);
        try (GptModel behaviour = GptModel.load(world.soupDir(), GptModel.Head.NONE, Device.cpu())) {
            LearnerFixture.writeRollouts(world.kafka(), behaviour, runId, 0, 8, 5, LearnerFixture.PREFER_LOW);
        }
        return world;
    }
}
