package io.salsa.learner;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The learner's latest step metrics on a Prometheus text endpoint ({@code GET /metrics}), so a scrape sees the
 * same TRL-named values as the metrics topic: {@code objective/kl} becomes {@code salsa_learner_objective_kl}.
 */
public final class LearnerMetrics implements AutoCloseable {

    private final String runId;
    private final Map<String, Double> gauges = new TreeMap<>();
    private final HttpServer server;

    /** Serves on {@code port} (0 = any free port), or not at all for -1. */
    public LearnerMetrics(String runId, int port) throws IOException {
        this.runId = runId;
        if (port < 0) {
            server = null;
            return;
        }
        server = HttpServer.create(new InetSocketAddress("0.0.0.0", port), 0);
        server.createContext("/metrics", exchange -> {
            byte[] body = render().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    /** The bound port, or -1 when serving is off. */
    public int port() {
        return server == null ? -1 : server.getAddress().getPort();
    }

    /** Replaces the gauges with one step's values. */
    public synchronized void update(Map<String, Double> values) {
        gauges.putAll(values);
    }

    /** The Prometheus text exposition of the current gauges. */
    public synchronized String render() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, Double> e : gauges.entrySet()) {
            String name = "salsa_learner_" + e.getKey().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
            sb.append("# TYPE ").append(name).append(" gauge\n");
            sb.append(name).append("{run_id=\"").append(runId).append("\"} ")
                    .append(format(e.getValue())).append('\n');
        }
        return sb.toString();
    }

    private static String format(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "+Inf" : "-Inf";
        }
        return Double.toString(v);
    }

    @Override
    public void close() {
        if (server != null) {
            server.stop(0);
        }
    }
}
