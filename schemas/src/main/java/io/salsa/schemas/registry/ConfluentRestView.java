package io.salsa.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A read-only view of a registry that keeps its own schemas (the embedded, topic-backed one) over the read endpoints
 * of the Confluent Schema Registry REST API, so third-party tools (kcat, Kafka UIs, Confluent-API serdes, Python's
 * {@code confluent-kafka}) can find the writer schema of every record on our topics.
 *
 * <p>Serves {@code GET /schemas/ids/{id}}, {@code /schemas/ids/{id}/schema}, {@code /subjects},
 * {@code /subjects/{s}/versions}, {@code /subjects/{s}/versions/{v}} ({@code v} a number, {@code latest} or
 * {@code -1}), {@code /subjects/{s}/versions/{v}/schema} and {@code /config}, with Confluent's JSON shapes, content type
 * and error codes (40401 subject, 40402 version, 40403 schema not found, 42202 invalid version). Everything else is
 * answered 405 (other methods: the view never writes) or 404.
 */
public final class ConfluentRestView implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ConfluentRestView.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SCHEMA_BY_ID = Pattern.compile("/schemas/ids/([^/]+)(/schema)?/?");
    private static final Pattern VERSIONS = Pattern.compile("/subjects/([^/]+)/versions/?");
    private static final Pattern VERSION = Pattern.compile("/subjects/([^/]+)/versions/([^/]+)(/schema)?/?");

    private final SchemaCatalog catalog;
    private final HttpServer server;
    private final ExecutorService executor;

    private ConfluentRestView(SchemaCatalog catalog, HttpServer server, ExecutorService executor) {
        this.catalog = catalog;
        this.server = server;
        this.executor = executor;
    }

    /** Serves {@code catalog} on {@code address} (port 0 = a free port) until {@link #close()}. */
    public static ConfluentRestView start(SchemaCatalog catalog, InetSocketAddress address) throws IOException {
        HttpServer server = HttpServer.create(address, 0);
        ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "schema-registry-view");
            t.setDaemon(true);
            return t;
        });
        ConfluentRestView view = new ConfluentRestView(catalog, server, executor);
        server.createContext("/", view::handle);
        server.setExecutor(executor);
        server.start();
        return view;
    }

    /** The base URL to give clients, e.g. {@code http://127.0.0.1:8081}. */
    public URI url() {
        InetSocketAddress a = server.getAddress();
        String host = a.getAddress().isAnyLocalAddress() ? "127.0.0.1" : a.getAddress().getHostAddress();
        return URI.create("http://" + host + ":" + a.getPort());
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            ex.getRequestBody().readAllBytes();
            String path = ex.getRequestURI().getRawPath();
            if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
                error(ex, 405, 405, "HTTP 405 Method Not Allowed: this schema registry view is read-only");
                return;
            }
            try {
                route(ex, path);
            } catch (SchemaRegistryException e) {
                LOG.warn("registry view: {} failed: {}", path, e.toString());
                error(ex, 500, 50001, "Error in the backend data store: " + e.getMessage());
            }
        }
    }

    private void route(HttpExchange ex, String path) throws IOException {
        Matcher m;
        if (path.equals("/") || path.isEmpty()) {
            reply(ex, JSON.createObjectNode());
        } else if (path.equals("/config") || path.equals("/config/")) {
            reply(ex, JSON.createObjectNode().put("compatibilityLevel", "BACKWARD"));
        } else if (path.equals("/subjects") || path.equals("/subjects/")) {
            ArrayNode subjects = JSON.createArrayNode();
            catalog.subjects().forEach(subjects::add);
            reply(ex, subjects);
        } else if ((m = SCHEMA_BY_ID.matcher(path)).matches()) {
            schemaById(ex, m.group(1), m.group(2) != null);
        } else if ((m = VERSIONS.matcher(path)).matches()) {
            String subject = decode(m.group(1));
            List<RegisteredSchema> versions = catalog.versions(subject);
            if (versions.isEmpty()) {
                subjectNotFound(ex, subject);
                return;
            }
            ArrayNode numbers = JSON.createArrayNode();
            versions.forEach(v -> numbers.add(v.version()));
            reply(ex, numbers);
        } else if ((m = VERSION.matcher(path)).matches()) {
            version(ex, decode(m.group(1)), decode(m.group(2)), m.group(3) != null);
        } else {
            error(ex, 404, 404, "HTTP 404 Not Found");
        }
    }

    private void schemaById(HttpExchange ex, String idText, boolean raw) throws IOException {
        int id;
        try {
            id = Integer.parseInt(idText);
        } catch (NumberFormatException e) {
            error(ex, 404, 40403, "Schema " + idText + " not found");
            return;
        }
        try {
            String schema = catalog.getById(id).toString();
            if (raw) {
                replyRaw(ex, schema);
            } else {
                reply(ex, JSON.createObjectNode().put("schema", schema));
            }
        } catch (SchemaNotFoundException e) {
            error(ex, 404, 40403, "Schema " + id + " not found");
        }
    }

    private void version(HttpExchange ex, String subject, String versionText, boolean raw) throws IOException {
        Integer wanted = null; // null = latest
        if (!versionText.equals("latest") && !versionText.equals("-1")) {
            try {
                wanted = Integer.parseInt(versionText);
            } catch (NumberFormatException e) {
                wanted = 0;
            }
            if (wanted < 1) {
                error(ex, 422, 42202, "The specified version '" + versionText + "' is not a valid version id. "
                        + "Allowed values are between [1, 2^31-1] and the string \"latest\"");
                return;
            }
        }
        List<RegisteredSchema> versions = catalog.versions(subject);
        if (versions.isEmpty()) {
            subjectNotFound(ex, subject);
            return;
        }
        RegisteredSchema r = null;
        for (RegisteredSchema v : versions) {
            if (wanted == null || v.version() == wanted) {
                r = v; // the last one when latest
            }
        }
        if (r == null) {
            error(ex, 404, 40402, "Version " + versionText + " not found.");
            return;
        }
        if (raw) {
            replyRaw(ex, r.schema().toString());
            return;
        }
        reply(ex, JSON.createObjectNode().put("subject", r.subject()).put("version", r.version()).put("id", r.id())
                .put("schema", r.schema().toString()));
    }

    private static void subjectNotFound(HttpExchange ex, String subject) throws IOException {
        error(ex, 404, 40401, "Subject '" + subject + "' not found.");
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    private static void error(HttpExchange ex, int status, int code, String message) throws IOException {
        send(ex, status, ConfluentRestSchemaRegistry.CONTENT_TYPE,
                JSON.createObjectNode().put("error_code", code).put("message", message).toString());
    }

    private static void reply(HttpExchange ex, JsonNode body) throws IOException {
        send(ex, 200, ConfluentRestSchemaRegistry.CONTENT_TYPE, body.toString());
    }

    private static void replyRaw(HttpExchange ex, String schema) throws IOException {
        send(ex, 200, "application/json", schema);
    }

    private static void send(HttpExchange ex, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", contentType);
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }
}
