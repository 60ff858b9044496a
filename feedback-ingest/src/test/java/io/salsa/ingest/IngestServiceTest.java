package io.salsa.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.ServiceRunner;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.Probes;
import io.salsa.testkit.TestKafka;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** feedback-ingest under the one lifecycle: opened by its run, up as its /healthz says, port closed on close. */
@ExtendWith(KafkaExtension.class)
class IngestServiceTest {

    @Test
    void shouldOpenWhenRunGoUpAndCloseItsPortWhenStopped(TestKafka kafka) throws Exception {
        try (IngestFixture f = new IngestFixture(kafka.bootstrapServers(), Map.of()).seed(2, 3)) {
            IngestApp app = new IngestApp(IngestConfig.fromEnv(f.env), new IngestKafka(f.settings));
            assertEquals("feedback-ingest", app.name());
            assertEquals(Health.Status.STARTING, app.health().status(), "nothing is opened before run");

            ServiceRunner.Background running = ServiceRunner.start(app);
            int port;
            try {
                assertTrue(app.awaitServing(Duration.ofSeconds(60)), "the port opened");
                Health health = app.health();
                assertTrue(health.isUp(), health.toString());
                running.checkHealthy();
                f.app = app;
                IngestFixture.Reply probe = f.get("/healthz", null);
                assertEquals(200, probe.status(), probe.raw().body());
                assertEquals("ok", probe.json().get("status").asText());
                f.nextTask("alice");
                port = app.port();
                // ingest serves its probes and metrics on its own HTTP port, with the same registry as the others
                Probes.assertServing(port, "kafka_producer_", List.of(
                        "salsa_ingest_requests_total{route=\"/api/tasks/next\",method=\"GET\",status=\"200\"} 1",
                        "salsa_ingest_request_duration_seconds_bucket{", "salsa_ingest_kafka_up 1"));
            } finally {
                f.app = null; // the runner closes it
                running.close();
            }
            assertFalse(running.running());
            assertNull(running.failure());
            assertEquals(Health.Status.DOWN, app.health().status());
            assertThrows(IOException.class, () -> new Socket("127.0.0.1", port).close(), "the port is closed");
        }
    }
}
