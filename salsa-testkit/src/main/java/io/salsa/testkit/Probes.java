package io.salsa.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/**
 * Asks a service's probe endpoint what compose and Prometheus ask it ({@code /healthz}, {@code /readyz},
 * {@code /metrics}), so every service's test checks the same things the same way.
 */
public final class Probes {

    /** Meters every service's {@code /metrics} has: JVM memory, GC, threads. */
    public static final List<String> JVM_METRICS = List.of("jvm_memory_used_bytes{", "jvm_threads_live_threads ",
            "jvm_gc_", "process_uptime_seconds ");

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private Probes() {}

    /** One answer: status and body. */
    public record Reply(int status, String body) {}

    /** {@code GET http://127.0.0.1:port/path}. */
    public static Reply get(int port, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body());
    }

    /** The status of {@code /readyz}, or -1 when nothing answers on the port yet. */
    public static int readiness(int port) {
        return readyz(port).status();
    }

    /** The answer of {@code /readyz} (status and why), or status -1 when nothing answers on the port yet. */
    public static Reply readyz(int port) {
        try {
            return get(port, "/readyz");
        } catch (IOException e) {
            return new Reply(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Reply(-1, e.toString());
        }
    }

    /**
     * Asserts the service on {@code port} is alive and ready and that its {@code /metrics} holds the JVM's meters,
     * a Kafka client's ({@code kafkaPrefix}, e.g. {@code kafka_consumer_}) and each of {@code own}; returns the
     * scrape.
     */
    public static String assertServing(int port, String kafkaPrefix, List<String> own)
            throws IOException, InterruptedException {
        Reply live = get(port, "/healthz");
        assertEquals(200, live.status(), "/healthz: " + live.body());
        Reply ready = get(port, "/readyz");
        assertEquals(200, ready.status(), "/readyz: " + ready.body());
        Reply metrics = get(port, "/metrics");
        assertEquals(200, metrics.status());
        String scrape = metrics.body();
        for (String name : JVM_METRICS) {
            assertTrue(scrape.contains(name), "JVM metric " + name + " in /metrics");
        }
        assertTrue(scrape.contains(kafkaPrefix), "Kafka client metrics " + kafkaPrefix + "* in /metrics");
        for (String name : own) {
            assertTrue(scrape.contains(name), "service metric " + name + " in /metrics:\n" + own(scrape));
        }
        return scrape;
    }

    private static String own(String scrape) {
        return String.join("\n", scrape.lines().filter(l -> l.startsWith("salsa_")).toList());
    }
}
