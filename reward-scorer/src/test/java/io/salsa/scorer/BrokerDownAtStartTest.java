package io.salsa.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.salsa.events.ScoredRollout;
import io.salsa.runtime.service.ServiceRunner;
import io.salsa.schemas.KafkaSettings;
import io.salsa.testkit.Conditions;
import io.salsa.testkit.LateKafka;
import io.salsa.testkit.Probes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A scorer started while its broker is down waits for it (not ready, saying so), then scores what arrives. */
class BrokerDownAtStartTest {

    private static final Duration WAIT = Duration.ofSeconds(90);

    @Test
    void shouldWaitForABrokerThatIsDownAtStartThenScore(@TempDir Path dir) throws Exception {
        try (LateKafka late = LateKafka.reserve()) {
            KafkaSettings settings = KafkaSettings.embedded(late.bootstrapServers(), "scorerlate.");
            RewardScorerApp app = new RewardScorerApp(ScorerCluster.config(settings, "scorer", "late",
                    dir.resolve("state")), new LengthRewardModel(ScorerCluster.MODEL, 1, 1000, 0), cp -> {
                        throw new UnsupportedOperationException("no checkpoints in this test");
                    });
            ServiceRunner.Background running = ServiceRunner.start(app, 0);
            try {
                late.awaitServiceWaiting(running.probePort(), WAIT);
                running.checkHealthy();

                late.start();
                ScorerCluster cluster = new ScorerCluster(settings);
                cluster.produceRollouts("late", 8);
                List<ScoredRollout> seen = cluster.readScored(ScorerCluster.distinctAtLeast(8), WAIT);
                assertEquals(8, ScorerCluster.occurrences(seen).size(), "every rollout was scored");
                Conditions.await("/readyz 200", WAIT, () -> Probes.readiness(running.probePort()) == 200);
                running.checkHealthy();
            } finally {
                running.close();
                settings.closeRegistry();
            }
            assertNull(running.failure());
        }
    }

    @Test
    void shouldStopCleanlyWhileWaitingForTheBroker(@TempDir Path dir) throws Exception {
        try (LateKafka never = LateKafka.reserve()) {
            RewardScorerApp app = new RewardScorerApp(ScorerCluster.config(KafkaSettings.embedded(
                    never.bootstrapServers(), "scorernever."), "scorer", "never", dir.resolve("state")),
                    new LengthRewardModel(ScorerCluster.MODEL, 1, 1000, 0), cp -> null);
            ServiceRunner.Background running = ServiceRunner.start(app, 0);
            never.assertStopEndsTheWait(running.probePort(), WAIT, running, running::running,
                    running::failure);
        }
    }
}
