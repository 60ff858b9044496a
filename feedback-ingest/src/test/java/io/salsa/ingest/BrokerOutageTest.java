package io.salsa.ingest;

import static io.salsa.ingest.IngestFixture.choiceBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.broker.EmbeddedKafkaBroker;
import io.salsa.testkit.Conditions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
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
        // the raters run as futures: a wrong status (or any exception) ends that rater and is rethrown on the
        // test thread by checkRaters, instead of only killing a thread nobody watches
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<?>> raters = new ArrayList<>();
        try (IngestFixture f = new IngestFixture(broker.bootstrapServers(), Map.of(
                IngestConfig.ACK_TIMEOUT_MS, "500",
                IngestConfig.DELIVERY_TIMEOUT_MS, "120000",
                IngestConfig.MAX_BLOCK_MS, "500")).seed(30, 4).start()) {
            for (String rater : List.of("alice", "bob", "carol")) {
                raters.add(pool.submit(() -> {
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
                            assertEquals(503, r.status(), rater + ": " + r.raw().body());
                            unavailable.incrementAndGet();
                            Thread.sleep(50); // a client's back-off before retrying, not a test waiting
                        }
                    }
                    return null;
                }));
            }
            await(raters, () -> acked.size() >= 30, "30 answers before the outage");
            broker.close();
            await(raters, () -> unavailable.get() >= 10, "503s while the broker is down");
            int ackedDuringOutage = acked.size();
            IngestFixture.Reply health = f.get("/healthz", null);
            assertEquals(503, health.status(), health.raw().body());

            broker = EmbeddedKafkaBroker.start(dir.resolve("kafka"), port, Map.of());
            await(raters, () -> acked.size() >= ackedDuringOutage + 30, "30 more answers after the broker returned");
            stop.set(true);
            for (Future<?> rater : raters) {
                rater.get(60, TimeUnit.SECONDS); // rethrows the rater's failure here, on the test thread
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
            pool.shutdownNow();
            broker.close();
        }
    }

    /** Waits for {@code condition}, failing at once (with the rater's own error) if a rater has failed. */
    private static void await(List<Future<?>> raters, BooleanSupplier condition, String what)
            throws InterruptedException {
        Conditions.await(what, Duration.ofSeconds(120), () -> {
            checkRaters(raters);
            return condition.getAsBoolean();
        });
    }

    /** Rethrows the failure of the first rater that ended; raters end only by failing until the test stops them. */
    private static void checkRaters(List<Future<?>> raters) {
        for (Future<?> rater : raters) {
            if (rater.isDone()) {
                try {
                    rater.get();
                } catch (ExecutionException e) {
                    throw new AssertionError("a rater failed: " + e.getCause(), e.getCause());
                } catch (InterruptedException | java.util.concurrent.CancellationException e) {
                    throw new AssertionError("a rater was interrupted", e);
                }
                throw new AssertionError("a rater stopped before the test told it to");
            }
        }
    }
}
