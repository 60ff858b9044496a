package io.salsa.cli.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.runtime.metrics.ProbeServer;
import io.salsa.runtime.service.Health;
import java.net.ServerSocket;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The soak's readiness gate before the broker restart: the port a service announces in its log (probe endpoint, or
 * ingest's own port) and its {@code /readyz} answer.
 */
class ServiceProcessReadyTest {

    @Test
    void shouldFindTheLastAnnouncedPortOfEitherKind() {
        assertNull(ServiceProcess.advertisedPort("==== soak: start #1 of learner: salsa learn\nloading…\n"));
        // lines as the services print them (from a soak's logs)
        assertEquals(44145, ServiceProcess.advertisedPort("01:07:37 [main] INFO  ProbeServer - rollout-generator/"
                + "soak-generator-1: metrics and health on http://0.0.0.0:44145/metrics, /healthz, /readyz\n"));
        assertEquals(38177, ServiceProcess.advertisedPort("01:07:48 [main] INFO  IngestApp - feedback-ingest "
                + "listening on http://127.0.0.1:38177/ (2 raters, 48 pairs ready, feedback topic feedback)\n"));
        assertEquals(2, ServiceProcess.advertisedPort("metrics and health on http://0.0.0.0:1/metrics\n"
                + "metrics and health on http://0.0.0.0:2/metrics\n"));
    }

    @Test
    void shouldBeReadyOnlyWhileReadyzAnswers200() throws Exception {
        AtomicReference<Health> health = new AtomicReference<>(Health.starting("joining the group"));
        try (ProbeServer probes = ProbeServer.start("some-service", "127.0.0.1", 0, health::get)) {
            assertFalse(ServiceProcess.readyz(probes.port()), "starting: 503");
            health.set(Health.up("working"));
            assertTrue(ServiceProcess.readyz(probes.port()));
        }
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        assertFalse(ServiceProcess.readyz(closed), "nothing listening");
    }
}
