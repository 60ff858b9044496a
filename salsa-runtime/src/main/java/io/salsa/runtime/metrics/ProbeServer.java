package io.salsa.runtime.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.salsa.runtime.service.Health;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP endpoint every service answers probes and scrapes on: {@code GET /metrics} (the {@link SalsaMetrics}
 * registry in Prometheus text), {@code GET /healthz} (the process is alive: 200 unless the service's health is
 * {@code DOWN}) and {@code GET /readyz} (ready to do work: 200 only when it is {@code UP}). Both probes answer
 * 503 otherwise, with the status and its detail as the body, so {@code curl -f} and compose health checks work.
 */
public final class ProbeServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ProbeServer.class);
    /** The content type of {@link SalsaMetrics#scrape()}. */
    public static final String METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final HttpServer server;
    private final ExecutorService executor;

    private ProbeServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * Serves {@code health} and the registry on {@code host:port} (port 0 = any free port) from two daemon threads.
     *
     * @throws IOException when the port cannot be bound (the message names it)
     */
    public static ProbeServer start(String name, String host, int port, Supplier<Health> health) throws IOException {
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(host, port), 0);
        } catch (IOException e) {
            throw new IOException(name + ": cannot serve metrics and health on " + host + ":" + port + ": " + e, e);
        }
        ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, name + "-probes");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/metrics", ex -> answer(ex, 200, METRICS_CONTENT_TYPE, SalsaMetrics.scrape()));
        server.createContext("/healthz", ex -> {
            Health h = ask(health);
            probe(ex, liveness(h), h);
        });
        server.createContext("/readyz", ex -> {
            Health h = ask(health);
            probe(ex, readiness(h), h);
        });
        server.createContext("/", ex -> answer(ex, 404, "text/plain; charset=utf-8",
                "not found; try /metrics, /healthz or /readyz\n"));
        server.start();
        ProbeServer probes = new ProbeServer(server, executor);
        LOG.info("{}: metrics and health on http://{}:{}/metrics, /healthz, /readyz", name, host, probes.port());
        return probes;
    }

    /** The status {@code /healthz} answers: 200 while the process is alive (starting or up), 503 when down. */
    public static int liveness(Health health) {
        return health.status() == Health.Status.DOWN ? 503 : 200;
    }

    /** The status {@code /readyz} answers: 200 when the service is up (connected, model loaded), else 503. */
    public static int readiness(Health health) {
        return health.isUp() ? 200 : 503;
    }

    private static Health ask(Supplier<Health> health) {
        try {
            return health.get();
        } catch (RuntimeException e) {
            return Health.down("health check failed: " + e);
        }
    }

    /** The bound port. */
    public int port() {
        return server.getAddress().getPort();
    }

    private static void probe(HttpExchange ex, int status, Health health) throws IOException {
        answer(ex, status, "text/plain; charset=utf-8", health.status() + " " + health.detail() + "\n");
    }

    private static void answer(HttpExchange ex, int status, String contentType, String body) throws IOException {
        try (ex) {
            if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                ex.sendResponseHeaders(405, -1);
                return;
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", contentType);
            boolean head = "HEAD".equals(ex.getRequestMethod());
            ex.sendResponseHeaders(status, head ? -1 : bytes.length);
            if (!head) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(bytes);
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("probe {} failed: {}", ex.getRequestURI(), e.toString());
            throw e;
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
