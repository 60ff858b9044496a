package io.salsa.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.ScoredRollout;
import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.ServiceRunner;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.Probes;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The reward scorer under the one lifecycle: its health follows the Kafka Streams state; close leaves cleanly. */
@ExtendWith(KafkaExtension.class)
class RewardScorerServiceIT {

    @TempDir
    Path dir;

    @Test
    void shouldGoUpUnderTheServiceRunnerScoreAndCloseCleanly(TestKafka kafka) throws Exception {
        ScorerCluster cluster = new ScorerCluster(kafka.bootstrapServers(), "service-" + System.nanoTime() + ".");
        cluster.produceRollouts("s", 20);
        RewardScorerApp app = new RewardScorerApp(cluster.config("scorer-svc", dir.resolve("state")),
                new LengthRewardModel(ScorerCluster.MODEL, 1, 1000, 0), cp -> {
                    throw new UnsupportedOperationException("no checkpoints in this test");
                });
        assertEquals("reward-scorer/scorer-svc", app.name());
        assertEquals(Health.Status.STARTING, app.health().status(), "no streams before run");

        ServiceRunner.Background running = ServiceRunner.start(app, 0);
        try {
            List<ScoredRollout> seen = cluster.readScored(ScorerCluster.distinctAtLeast(20), Duration.ofSeconds(90));
            assertEquals(20, ScorerCluster.occurrences(seen).size(), "every rollout was scored");
            // scores are committed only by RUNNING streams, which nothing else in this test disturbs
            Health health = app.health();
            assertTrue(health.isUp(), health.toString());
            running.checkHealthy();
            Probes.assertServing(running.probePort(), "kafka_stream_", List.of("salsa_scorer_rollouts_scored_total",
                    "salsa_scorer_model_seconds_total", "kafka_consumer_"));
        } finally {
            running.close();
        }
        assertFalse(running.running());
        assertNull(running.failure());
        assertEquals(KafkaStreams.State.NOT_RUNNING, app.state());
        assertEquals(Health.Status.DOWN, app.health().status());
        assertEquals(20, ScorerCluster.occurrences(cluster.readAllScored()).size());
        assertTrue(ScorerCluster.occurrences(cluster.readAllScored()).values().stream().allMatch(c -> c == 1),
                "no rollout scored twice");
    }
}
