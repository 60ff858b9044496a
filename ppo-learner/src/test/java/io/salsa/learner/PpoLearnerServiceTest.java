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
import io.salsa.testkit.LateKafka;
import io.salsa.testkit.Probes;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The learner as a {@code Service}: it opens its run inside {@code run()} (after waiting for a broker that is down
 * at start), and a stop during the wait for the first soup ends it.
 */
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
            // steps: a counter for rates, the run's step number as a gauge (the metrics follow the state's step)
            java.util.regex.Matcher steps = java.util.regex.Pattern.compile(
                    "(?m)^salsa_learner_steps_total\\{run_id=\"probes\"} (\\S+)$").matcher(scrape);
            assertTrue(steps.find() && Double.parseDouble(steps.group(1)) >= 1, scrape);
            java.util.regex.Matcher step = java.util.regex.Pattern.compile(
                    "(?m)^salsa_learner_step\\{run_id=\"probes\"} (\\S+)$").matcher(scrape);
            assertTrue(step.find() && Double.parseDouble(step.group(1)) >= 1, scrape);
        }
        assertFalse(SalsaMetrics.scrape().contains("run_id=\"probes\""), "the run's gauges leave with it");
    }

    @Test
    void shouldWaitForABrokerThatIsDownAtStartThenTrain(@TempDir Path tmp) throws Exception {
        try (LateKafka late = LateKafka.reserve()) {
            KafkaSettings kafka = KafkaSettings.embedded(late.bootstrapServers(), "late.");
            Map<String, String> settings = LearnerFixture.settings("late", 4, 4, 1);
            settings.put("max_steps", "1");
            PpoLearner learner = PpoLearner.create(LearnerConfig.fromMap(settings), kafka,
                    LearnerFixture.store(tmp.resolve("blobs")), LearnerFixture.gptFactory());
            try {
                try (ServiceRunner.Background running = ServiceRunner.start(learner, 0)) {
                    late.awaitServiceWaiting(running.probePort(), Duration.ofSeconds(60));
                    running.checkHealthy();

                    late.start();
                    soupAndTwoBatches(kafka, tmp, "late");
                    assertTrue(running.await(Duration.ofMinutes(3)), "one step of a tiny model");
                    assertNull(running.failure());
                }
                assertEquals(PpoTrainer.Stop.MAX_STEPS, learner.stopReason());
                assertEquals(1, learner.state().step());
                assertEquals(1, LearnerFixture.manifests(kafka, "late").size());
            } finally {
                kafka.closeRegistry();
            }
        }
    }

    /** The learner's world (topic prefix {@code runId.}) and 8 rollouts of run {@code runId}: two batches of 4. */
    private static LearnerFixture.World soupAndTwoBatches(TestKafka broker, Path tmp, String runId) throws Exception {
        return soupAndTwoBatches(KafkaSettings.embedded(broker.bootstrapServers(), runId + "."), tmp, runId);
    }

    private static LearnerFixture.World soupAndTwoBatches(KafkaSettings kafka, Path tmp, String runId)
            throws Exception {
        LearnerFixture.World world = LearnerFixture.world(kafka, tmp, 3);
        try (GptModel behaviour = GptModel.load(world.soupDir(), GptModel.Head.NONE, Device.cpu())) {
            LearnerFixture.writeRollouts(world.kafka(), behaviour, runId, 0, 8, 5, LearnerFixture.PREFER_LOW);
        }
        return world;
    }

    @Test
    void shouldStopCleanlyWhileWaitingForTheBroker(@TempDir Path tmp) throws Exception {
        try (LateKafka never = LateKafka.reserve()) {
            PpoLearner learner = PpoLearner.create(LearnerConfig.fromMap(LearnerFixture.settings("never", 4, 4, 1)),
                    KafkaSettings.embedded(never.bootstrapServers(), "never."), LearnerFixture.store(tmp),
                    LearnerFixture.gptFactory());
            ServiceRunner.Background running = ServiceRunner.start(learner, 0);
            never.assertStopEndsTheWait(running.probePort(), Duration.ofSeconds(60), running, running::running,
                    running::failure);
        }
    }
}
