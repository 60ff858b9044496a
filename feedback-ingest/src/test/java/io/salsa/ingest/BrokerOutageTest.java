package io.salsa.ingest;

import static io.salsa.ingest.IngestFixture.choiceBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.broker.EmbeddedKafkaBroker;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stops the broker under load and brings it back on the same data folder and port: requests must fail fast
 * with 503 meanwhile, the service must recover by itself, and the topic must hold every acknowledged answer
 * exactly once.
 */
class BrokerOutageTest {

    @Test
    void shouldAnswer503WhileKafkaIsDownAndLoseOrDuplicateNothing(@TempDir Path dir) throws Exception {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir.resolve("kafka"), 0, Map.of());
        int port = Integer.parseInt(broker.bootstrapServers().substring(broker.bootstrapServers().lastIndexOf(':') + 1));
        Set<String> acked = ConcurrentHashMap.newKeySet();
        AtomicInteger unavailable = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> raters = new ArrayList<>();
        try (IngestFixture f = new IngestFixture(broker.bootstrapServers(), Map.of(
                IngestConfig.ACK_TIMEOUT_MS, "500",
                IngestConfig.DELIVERY_TIMEOUT_MS, "120000",
                IngestConfig.MAX_BLOCK_MS, "500")).seed(30, 4).start()) {
            for (String rater : List.of("alice", "bob", "carol")) {
                Thread t = new Thread(() -> {
                    int n = 0;
                    while (!stop.get()) {
                        String taskId = f.nextTask(rater).get("taskId").asText();
                        String key = rater + "-" + n++;
                        // retry the same answer with the same key until it is acknowledged, as a client should
                        while (true) {
                            IngestFixture.Reply r = f.post(rater, choiceBody(taskId, "A"), key);
                            if (r.status() == 201) {
                                acked.add(r.json().get("preferenceId").asText());
                                break;
                            }
                            assertEquals(503, r.status(), r.raw().body());
                            unavailable.incrementAndGet();
                            sleep(50);
                        }
                    }
                }, "rater-" + rater);
                t.start();
                raters.add(t);
            }
            await(() -> acked.size() >= 30, "30 answers before the outage");
            broker.close();
            await(() -> unavailable.get() >= 10, "503s while the broker is down");
            int ackedDuringOutage = acked.size();
            IngestFixture.Reply health = f.get("/healthz", null);
            assertEquals(503, health.status(), health.raw().body());

            broker = EmbeddedKafkaBroker.start(dir.resolve("kafka"), port, Map.of());
            await(() -> acked.size() >= ackedDuringOutage + 30, "30 more answers after the broker returned");
            stop.set(true);
            for (Thread t : raters) {
                t.join(60_000);
            }
            assertEquals(200, f.get("/healthz", null).status());

            FeedbackAudit.Result audit = FeedbackAudit.check(f.settings, acked);
            assertEquals(0, audit.lost(), audit.toString());
            assertEquals(0, audit.duplicated(), audit.toString());
            assertEquals(0, audit.unacknowledged(), audit.toString());
            assertEquals(acked.size(), audit.records(), audit.toString());
            assertTrue(unavailable.get() >= 10);
        } finally {
            stop.set(true);
            broker.close();
        }
    }

    private static void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
