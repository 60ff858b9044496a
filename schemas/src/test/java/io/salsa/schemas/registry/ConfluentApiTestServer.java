package io.salsa.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.avro.Schema;

/**
 * The four endpoints of the Confluent Schema Registry REST API that {@link ConfluentRestSchemaRegistry} uses,
 * served by the JDK's HTTP server with one of our registries behind them, so a test proves the client speaks the
 * protocol (paths, content type, JSON bodies, error codes) without a registry server.
 */
final class ConfluentApiTestServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern REGISTER = Pattern.compile("/subjects/([^/]+)/versions");
    private static final Pattern BY_ID = Pattern.compile("/schemas/ids/(\\d+)");
    private static final Pattern LATEST = Pattern.compile("/subjects/([^/]+)/versions/latest");
    private static final Pattern COMPAT = Pattern.compile("/compatibility/subjects/([^/]+)/versions/latest");

    private final SchemaRegistry backend;
    private final HttpServer server;
    /** Every request as "METHOD path", for assertions on what the client sent. */
    final List<String> requests = new CopyOnWriteArrayList<>();
    /** The Authorization header every request must carry (401 otherwise); null = none needed. */
    volatile String requiredAuthorization;

    ConfluentApiTestServer(SchemaRegistry backend) throws IOException {
        this.backend = backend;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    @Override
    public void close() {
        server.stop(0);
    }

    private void handle(HttpExchange ex) throws IOException {
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getRawPath();
        requests.add(method + " " + path);
        String required = requiredAuthorization;
        if (required != null && !required.equals(ex.getRequestHeaders().getFirst("Authorization"))) {
            ex.getRequestBody().readAllBytes();
            error(ex, 401, 401, "Unauthorized");
            return;
        }
        try {
            Matcher m;
            if (method.equals("POST") && (m = COMPAT.matcher(path)).matches()) {
                Schema schema = body(ex);
                String subject = decode(m.group(1));
                if (backend.latest(subject).isEmpty()) {
                    error(ex, 404, 40401, "Subject '" + subject + "' not found.");
                    return;
                }
                reply(ex, 200, JSON.createObjectNode().put("is_compatible", backend.isCompatible(subject, schema)));
            } else if (method.equals("POST") && (m = REGISTER.matcher(path)).matches()) {
                Schema schema = body(ex);
                try {
                    reply(ex, 200, JSON.createObjectNode().put("id", backend.register(decode(m.group(1)), schema)));
                } catch (IncompatibleSchemaException e) {
                    error(ex, 409, 409, e.getMessage());
                }
            } else if (method.equals("GET") && (m = BY_ID.matcher(path)).matches()) {
                try {
                    Schema s = backend.getById(Integer.parseInt(m.group(1)));
                    reply(ex, 200, JSON.createObjectNode().put("schema", s.toString()));
                } catch (SchemaNotFoundException e) {
                    error(ex, 404, 40403, "Schema " + m.group(1) + " not found");
                }
            } else if (method.equals("GET") && (m = LATEST.matcher(path)).matches()) {
                Optional<RegisteredSchema> latest = backend.latest(decode(m.group(1)));
                if (latest.isEmpty()) {
                    error(ex, 404, 40401, "Subject not found.");
                    return;
                }
                RegisteredSchema r = latest.get();
                reply(ex, 200, JSON.createObjectNode().put("subject", r.subject()).put("version", r.version())
                        .put("id", r.id()).put("schema", r.schema().toString()));
            } else {
                error(ex, 404, 404, "no such endpoint " + method + " " + path);
            }
        } catch (BadRequest e) {
            error(ex, e.status, e.status * 100 + 1, e.getMessage());
        } catch (RuntimeException e) {
            error(ex, 500, 50001, e.toString());
        }
    }

    private static Schema body(HttpExchange ex) throws IOException {
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        if (!ConfluentRestSchemaRegistry.CONTENT_TYPE.equals(type)) {
            throw new BadRequest(415, "unsupported content type " + type);
        }
        JsonNode n = JSON.readTree(ex.getRequestBody().readAllBytes());
        if (n == null || !n.path("schema").isTextual()) {
            throw new BadRequest(422, "body has no schema string");
        }
        if (!n.path("schemaType").asText("AVRO").equals("AVRO")) {
            throw new BadRequest(422, "only AVRO schemas");
        }
        return new Schema.Parser().parse(n.get("schema").asText());
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    private static void error(HttpExchange ex, int status, int code, String message) throws IOException {
        reply(ex, status, JSON.createObjectNode().put("error_code", code).put("message", message));
    }

    private static void reply(HttpExchange ex, int status, ObjectNode body) throws IOException {
        byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", ConfluentRestSchemaRegistry.CONTENT_TYPE);
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;

        BadRequest(int status, String message) {
            super(message);
            this.status = status;
        }
    }
}
