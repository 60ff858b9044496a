package io.salsa.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Counter;
import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.Service;
import io.salsa.runtime.service.ServiceRunner;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.Probes;
import io.salsa.testkit.TestKafka;
import java.net.ConnectException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The probe endpoint the ServiceRunner serves: health as the service says, metrics with the JVM's and Kafka's. */
@ExtendWith(KafkaExtension.class)
class ProbeServerTest {

    /** A service whose health the test sets, holding one real Kafka consumer. */
    static final class ProbedService implements Service {
        final AtomicReference<Health> health = new AtomicReference<>(Health.starting("connecting"));
        final CountDownLatch stop = new CountDownLatch(1);
        final KafkaConsumer<String, String> consumer;
        final SalsaMetrics.Binding consumerMetrics;
        final Counter work = Counter.builder("salsa.test.units").description("Units of work done.")
                .tag("kind", "quote\"back\\slash").register(SalsaMetrics.registry());

        ProbedService(String bootstrap) {
            consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    ConsumerConfig.CLIENT_ID_CONFIG, "probe-test"), new StringDeserializer(), new StringDeserializer());
            consumerMetrics = SalsaMetrics.monitor(consumer);
        }

        @Override public String name() { return "probed"; }
        @Override public void run() throws Exception { stop.await(); }
        @Override public void stop() { stop.countDown(); }
        @Override public Health health() { return health.get(); }
        @Override public void close() {
            consumerMetrics.close();
            consumer.close();
            SalsaMetrics.registry().remove(work);
        }
    }

    @Test
    void shouldAnswerProbesAsTheServiceSaysAndServeJvmKafkaAndOwnMetrics(TestKafka kafka) throws Exception {
        ProbedService service = new ProbedService(kafka.bootstrapServers());
        int port;
        try (ServiceRunner.Background running = ServiceRunner.start(service, 0)) {
            port = running.probePort();
            assertTrue(port > 0);
            // starting: alive, not ready
            assertEquals(200, Probes.get(port, "/healthz").status());
            Probes.Reply notReady = Probes.get(port, "/readyz");
            assertEquals(503, notReady.status());
            assertEquals("STARTING connecting\n", notReady.body());

            service.consumer.listTopics(Duration.ofSeconds(30)); // one request: the client has network metrics
            service.work.increment(3);
            service.health.set(Health.up("working"));
            String scrape = Probes.assertServing(port, "kafka_consumer_", List.of("salsa_test_units_total"));
            assertTrue(scrape.contains("# TYPE salsa_test_units_total counter"), "a counter, named _total");
            assertTrue(scrape.contains("salsa_test_units_total{kind=\"quote\\\"back\\\\slash\"} 3.0"),
                    "label value escaped:\n" + scrape.lines().filter(l -> l.startsWith("salsa_test")).toList());
            assertTrue(scrape.contains("client_id=\"probe-test\""), "Kafka meters carry the client id");
            assertTrue(scrape.contains("jvm_memory_used_bytes{"), "base unit in the name");

            service.health.set(Health.down("broker gone"));
            assertEquals(503, Probes.get(port, "/healthz").status());
            assertEquals(503, Probes.get(port, "/readyz").status());
            assertEquals(405, postStatus(port));
            assertEquals(404, Probes.get(port, "/nothing").status());
        }
        assertFalse(SalsaMetrics.scrape().contains("client_id=\"probe-test\""), "the consumer's meters are removed");
        int closed = port;
        try {
            Probes.get(closed, "/healthz");
            throw new AssertionError("the endpoint still answers after close");
        } catch (ConnectException expected) {
            // closed with the service
        }
    }

    @Test
    void shouldServeNothingWithoutAPort() {
        try (ServiceRunner.Background running = ServiceRunner.start(new Service() {
            @Override public String name() { return "quiet"; }
            @Override public void run() { }
            @Override public void stop() { }
            @Override public Health health() { return Health.up(""); }
            @Override public void close() { }
        })) {
            assertEquals(ServiceRunner.NO_PROBES, running.probePort());
        }
    }

    private static int postStatus(int port) throws Exception {
        var c = (java.net.HttpURLConnection) java.net.URI.create("http://127.0.0.1:" + port + "/readyz").toURL()
                .openConnection();
        c.setRequestMethod("POST");
        try {
            return c.getResponseCode();
        } finally {
            c.disconnect();
        }
    }
}
