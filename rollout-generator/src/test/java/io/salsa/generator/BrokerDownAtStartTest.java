package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.salsa.runtime.service.ServiceRunner;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.testkit.Conditions;
import io.salsa.testkit.LateKafka;
import io.salsa.testkit.Probes;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A generator started while its broker is down waits for it (not ready, saying so), then generates. */
class BrokerDownAtStartTest {

    private static final Duration WAIT = Duration.ofSeconds(90);

    @TempDir
    Path dir;

    @Test
    void shouldWaitForABrokerThatIsDownAtStartThenGenerate() throws Exception {
        try (LateKafka late = LateKafka.reserve()) {
            KafkaSettings settings = KafkaSettings.embedded(late.bootstrapServers(),
                    GenHarness.uniquePrefix("late"));
            ToySampler.writeFolder(dir.resolve("initial-weights"), 7);
            GeneratorConfig config = GenHarness.config(dir, "SALSA_GENERATOR_SAMPLES_PER_PROMPT", "2",
                    "SALSA_GENERATOR_BATCH_SIZE", "2", "SALSA_GENERATOR_ID", "gen-late");
            GeneratorApp app = new GeneratorApp(settings, config, ToySampler.factory(0), GeneratorAppIT.NO_BLOBS);
            ServiceRunner.Background running = ServiceRunner.start(app, 0);
            try {
                late.awaitServiceWaiting(running.probePort(), WAIT);
                running.checkHealthy();

                late.start();
                try (GenHarness h = new GenHarness(settings, dir)) {
                    h.publishPrompts(GenHarness.prompts(3, "late"));
                    h.awaitRecords(Topics.ROLLOUTS, 6, WAIT);
                    Conditions.await("/readyz 200", WAIT, () -> Probes.readiness(running.probePort()) == 200);
                    running.checkHealthy();
                    assertEquals(6, h.rollouts().size(), "n=2 rollouts for each of the 3 prompts");
                }
            } finally {
                running.close();
                settings.closeRegistry();
            }
            assertNull(running.failure());
        }
    }

    @Test
    void shouldStopCleanlyWhileWaitingForTheBroker() throws Exception {
        try (LateKafka never = LateKafka.reserve()) {
            GeneratorApp app = new GeneratorApp(KafkaSettings.embedded(never.bootstrapServers(), "gennever."),
                    GenHarness.config(dir, "SALSA_GENERATOR_ID", "gen-never"), ToySampler.factory(0),
                    GeneratorAppIT.NO_BLOBS);
            ServiceRunner.Background running = ServiceRunner.start(app, 0);
            never.assertStopEndsTheWait(running.probePort(), WAIT, running, running::running,
                    running::failure);
        }
    }
}
