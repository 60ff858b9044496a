package io.salsa.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.Preference;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.runtime.service.ServiceRunner;
import io.salsa.schemas.Topics;
import io.salsa.testkit.LateKafka;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * feedback-ingest started while its broker is down waits for it (not ready, saying so; its HTTP port opens only
 * once it can take answers), then serves tasks and publishes answers.
 */
class BrokerDownAtStartTest {

    private static final Duration WAIT = Duration.ofSeconds(90);

    @Test
    void shouldWaitForABrokerThatIsDownAtStartThenTakeAnswers() throws Exception {
        try (LateKafka late = LateKafka.reserve();
             IngestFixture f = new IngestFixture(late.bootstrapServers(), Map.of())) {
            IngestApp app = new IngestApp(IngestConfig.fromEnv(f.env), new IngestKafka(f.settings));
            ServiceRunner.Background running = ServiceRunner.start(app, 0);
            try {
                late.awaitServiceWaiting(running.probePort(), WAIT);
                running.checkHealthy();

                late.start();
                assertTrue(app.awaitServing(WAIT), "the HTTP port opened once Kafka answered");
                f.app = app;
                f.seed(1, 2);
                String taskId = awaitTask(f).get("taskId").asText();
                IngestFixture.Reply saved = f.post("alice", IngestFixture.choiceBody(taskId, "A"), "late-key");
                assertEquals(201, saved.status(), saved.raw().body());
                List<Preference> answers = KafkaLog.readValues(f.settings, Topics.FEEDBACK,
                        Duration.ofSeconds(30), KafkaLog::skipUndecodable);
                assertEquals(1, answers.size(), "the answer is on the feedback topic");
                assertEquals("alice", answers.get(0).getRaterId());
                assertEquals(saved.json().get("preferenceId").asText(), answers.get(0).getPreferenceId());
                running.checkHealthy();
            } finally {
                f.app = null; // the runner closes it
                running.close();
            }
            assertNull(running.failure());
        }
    }

    /** The rollouts seeded after start reach the task board through the rollout feed: wait for the first task. */
    private static com.fasterxml.jackson.databind.JsonNode awaitTask(IngestFixture f) throws InterruptedException {
        io.salsa.testkit.Conditions.await("a task for alice from the rollouts seeded after start", WAIT, () -> {
            IngestFixture.Reply r = f.get("/api/tasks/next", "alice");
            return r.status() == 200 && !r.json().get("task").isNull();
        });
        return f.nextTask("alice");
    }

    @Test
    void shouldStopCleanlyWhileWaitingForTheBroker() throws Exception {
        try (LateKafka never = LateKafka.reserve()) {
            IngestFixture f = new IngestFixture(never.bootstrapServers(), Map.of());
            IngestApp app = new IngestApp(IngestConfig.fromEnv(f.env), new IngestKafka(f.settings));
            ServiceRunner.Background running = ServiceRunner.start(app, 0);
            never.assertStopEndsTheWait(running.probePort(), WAIT, running, running::running,
                    running::failure);
        }
    }
}
