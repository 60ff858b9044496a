package io.salsa.runtime.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.runtime.service.ServiceRunner;
import io.salsa.schemas.KafkaClientConfig;
import io.salsa.schemas.KafkaErrors;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.testkit.ChildJvm;
import io.salsa.testkit.Conditions;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.LateKafka;
import io.salsa.testkit.Probes;
import io.salsa.testkit.SecuredTestKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A service started while its broker is down waits for it (not ready, saying so), then starts and works; a stop
 * or SIGTERM during the wait ends it cleanly; refused credentials are not waited for.
 */
@ExtendWith(KafkaExtension.class)
class BrokerWaitTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void shouldWaitForABrokerThatComesUpLaterThenWork() throws Exception {
        try (LateKafka late = LateKafka.reserve()) {
            KafkaSettings kafka = KafkaSettings.embedded(late.bootstrapServers(), "late.");
            WaitingService service = new WaitingService(kafka);
            ServiceRunner.Background running = ServiceRunner.start(service, 0);
            try {
                int port = running.probePort();
                late.awaitServiceWaiting(port, WAIT);
                assertEquals(200, Probes.get(port, "/healthz").status(), "alive while it waits");
                // several attempts fail (the period grows) and the service is still there, waiting
                Conditions.await("a wait of at least 3 s", WAIT, () -> Probes.readyz(port).body().contains(", 3 s"));
                running.checkHealthy();

                late.start();
                Conditions.await("the service up once the broker is", WAIT, () -> service.health().isUp());
                assertEquals(200, Probes.readyz(port).status());
                assertEquals(1, KafkaLog.readAll(kafka, kafka.topic(Topics.DEAD_LETTERS)).size(),
                        "the service did its work after the wait");
            } finally {
                running.close();
            }
            assertNull(running.failure());
        }
    }

    @Test
    void shouldEndTheWaitCleanlyWhenStopped() throws Exception {
        try (LateKafka never = LateKafka.reserve()) {
            WaitingService service = new WaitingService(KafkaSettings.embedded(never.bootstrapServers(), "never."));
            ServiceRunner.Background running = ServiceRunner.start(service);
            Conditions.await("the service waiting for Kafka", WAIT, () -> service.health().detail()
                    .startsWith("waiting for Kafka at " + never.bootstrapServers()));
            running.close();
            assertFalse(running.running(), "run() returned");
            assertNull(running.failure(), "a stop during the wait is no failure");
            assertFalse(never.started());
        }
    }

    @Test
    void shouldWaitForABrokerHostThatDoesNotResolveYet() throws Exception {
        // as in compose before the kafka container exists; .invalid never resolves (RFC 6761)
        WaitingService service = new WaitingService(KafkaSettings.embedded("kafka.invalid:9092", "dns."));
        ServiceRunner.Background running = ServiceRunner.start(service);
        Conditions.await("the service waiting for a host that does not resolve", WAIT, () -> service.health()
                .detail().startsWith("waiting for Kafka at kafka.invalid:9092, "));
        Conditions.await("a second attempt", WAIT, () -> !service.health().detail().contains(", 0 s"));
        assertTrue(service.health().detail().contains("No resolvable bootstrap urls"), service.health().detail());
        running.checkHealthy();
        running.close();
        assertNull(running.failure());
    }

    @Test
    void shouldExitCleanlyOnSigtermWhileWaiting(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        try (LateKafka never = LateKafka.reserve()) {
            try (ChildJvm child = ChildJvm.start(WaitingService.class, never.bootstrapServers())) {
                child.awaitOutput("waiting for Kafka at " + never.bootstrapServers(), WAIT);
                Integer exit = child.sigterm(WAIT);
                String log = child.output();
                assertEquals(143, exit, "the JVM's exit status for SIGTERM:\n" + log);
                assertTrue(log.contains("stop requested"), log);
                assertTrue(log.contains(WaitingService.CLOSED), "closed by the shutdown hook's wait:\n" + log);
                assertFalse(log.contains("did not stop within"), log);
                assertFalse(log.contains("Exception in thread"), log);
            }
        }
    }

    @Test
    void shouldNotWaitForCredentialsTheClusterRefuses(SecuredTestKafka secured) {
        secured.user("broker-wait-user", "right-password", "bw.");
        BrokerWait refused = new BrokerWait(login(secured, "broker-wait-user", "wrong-password"), "refused-service");
        KafkaErrors.KafkaAccessException e = assertThrows(KafkaErrors.KafkaAccessException.class,
                () -> refused.await(() -> false));
        assertTrue(e.getMessage().contains("User:broker-wait-user"), e.getMessage());
        assertNull(refused.waiting());
        // a user granted only its deployment's prefix (no cluster permission) gets through the wait
        assertTrue(new BrokerWait(login(secured, "broker-wait-user", "right-password"), "granted-service")
                .await(() -> false));
    }

    private static KafkaSettings login(SecuredTestKafka secured, String user, String password) {
        Map<String, String> env = new HashMap<>(Map.of(KafkaSettings.BOOTSTRAP_ENV, secured.bootstrapServers()));
        secured.login(user, password).forEach((k, v) -> env.put(KafkaClientConfig.variableName(k), v));
        return KafkaSettings.fromEnv(env);
    }
}
