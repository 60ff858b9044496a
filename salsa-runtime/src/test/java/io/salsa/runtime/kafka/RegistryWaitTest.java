package io.salsa.runtime.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.runtime.service.ServiceRunner;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.registry.ConfluentRestView;
import io.salsa.schemas.registry.InMemorySchemaRegistry;
import io.salsa.schemas.registry.SchemaRegistryException;
import io.salsa.testkit.Conditions;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.Probes;
import io.salsa.testkit.TestKafka;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A service given a separate schema registry that is down at start waits for it after the broker (not ready,
 * saying so), starts once it answers, gives up after the limit with an error naming the URL and the setting, and
 * does not wait for a server that answers but is no registry.
 */
@ExtendWith(KafkaExtension.class)
class RegistryWaitTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void shouldWaitForARegistryThatComesUpLaterThenStart(TestKafka kafka) throws Exception {
        int port = freePort();
        KafkaSettings settings = new KafkaSettings(kafka.bootstrapServers(), "late-registry.",
                "http://127.0.0.1:" + port);
        WaitingService service = new WaitingService(settings);
        ServiceRunner.Background running = ServiceRunner.start(service, 0);
        try {
            int probes = running.probePort();
            String waiting = "waiting for the schema registry at http://127.0.0.1:" + port;
            Conditions.await("/readyz answering 503 '" + waiting + "…'", WAIT, () -> {
                Probes.Reply r = Probes.readyz(probes);
                return r.status() == 503 && r.body().contains(waiting);
            });
            Conditions.await("a second attempt", WAIT, () -> !Probes.readyz(probes).body().contains(", 0 s"));
            running.checkHealthy();

            try (InMemorySchemaRegistry registry = new InMemorySchemaRegistry();
                 ConfluentRestView view = ConfluentRestView.start(registry,
                         new InetSocketAddress("127.0.0.1", port))) {
                Conditions.await("the service up once the registry answers", WAIT, () -> service.health().isUp());
                assertEquals(200, Probes.readyz(probes).status());
            }
        } finally {
            running.close();
            settings.closeRegistry();
        }
        assertNull(running.failure());
    }

    @Test
    void shouldGiveUpAfterTheLimitNamingTheUrlAndTheSetting(TestKafka kafka) throws Exception {
        int port = freePort();
        KafkaSettings settings = new KafkaSettings(kafka.bootstrapServers(), "never-registry.",
                "http://127.0.0.1:" + port);
        try {
            RegistryWait wait = new RegistryWait(settings, "some-service", Duration.ofSeconds(2));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> wait.await(() -> false));
            assertTrue(e.getMessage().startsWith("some-service: the schema registry at http://127.0.0.1:" + port
                    + " (" + KafkaSettings.REGISTRY_ENV + ") did not answer within 2 s (last: "), e.getMessage());
            assertTrue(e.getMessage().contains("ConnectException"), e.getMessage());
            assertNull(wait.waiting(), "not waiting any more");
        } finally {
            settings.closeRegistry();
        }
    }

    @Test
    void shouldEndTheWaitWhenStoppedAndNotWaitForAServerThatIsNoRegistry(TestKafka kafka) throws Exception {
        int port = freePort();
        KafkaSettings down = new KafkaSettings(kafka.bootstrapServers(), "stopped-registry.",
                "http://127.0.0.1:" + port);
        try {
            AtomicBoolean stop = new AtomicBoolean();
            BrokerWait wait = new BrokerWait(down, "stopped-service");
            CompletableFuture<Boolean> result = CompletableFuture.supplyAsync(() -> wait.await(stop::get));
            Conditions.await("waiting for the registry", WAIT, () -> wait.waiting() != null
                    && wait.waiting().detail().startsWith("waiting for the schema registry at "));
            stop.set(true);
            assertFalse(result.get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS), "a stop ends the wait");
        } finally {
            down.closeRegistry();
        }

        // the registry's read view answers 404 for a path under which no registry lives: a wrong URL, not a wait
        try (InMemorySchemaRegistry registry = new InMemorySchemaRegistry();
             ConfluentRestView view = ConfluentRestView.start(registry, new InetSocketAddress("127.0.0.1", 0))) {
            KafkaSettings wrongPath = new KafkaSettings(kafka.bootstrapServers(), "wrong-registry.",
                    view.url() + "/not/a/registry/");
            try {
                SchemaRegistryException e = assertThrows(SchemaRegistryException.class,
                        () -> new RegistryWait(wrongPath, "wrong-service").await(() -> false));
                assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
            } finally {
                wrongPath.closeRegistry();
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
