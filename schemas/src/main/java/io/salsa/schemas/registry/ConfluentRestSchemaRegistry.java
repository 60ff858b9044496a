package io.salsa.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;

/**
 * Talks to a schema registry server over the Confluent Schema Registry REST API (Confluent's own server, or
 * Apicurio's Confluent-compatible {@code /apis/ccompat/v7} endpoint), because Confluent's Java client is not on
 * Maven Central. Uses the JDK's HTTP client; schemas fetched by id are cached, as ids are immutable.
 *
 * <p>Authenticates with HTTP basic auth ({@value #USER_INFO_ENV}={@code user:password}, Confluent's
 * {@code basic.auth.user.info}, or {@code user:password@} in the URL) or a bearer token
 * ({@value #BEARER_TOKEN_ENV}, Confluent's {@code bearer.auth.token}); see {@link #fromEnv}.
 */
public final class ConfluentRestSchemaRegistry implements SchemaRegistry {

    /** Content type of the Confluent REST API, version 1. */
    public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final String ACCEPT = CONTENT_TYPE + ", application/vnd.schemaregistry+json, application/json";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Confluent's error codes for "subject not found" and "version not found". */
    private static final int SUBJECT_NOT_FOUND = 40401;
    private static final int VERSION_NOT_FOUND = 40402;
    private static final int SCHEMA_NOT_FOUND = 40403;
    private static final int ATTEMPTS = 3;
    /** {@code user:password} for HTTP basic auth, as Confluent's {@code basic.auth.user.info}. */
    public static final String USER_INFO_ENV = "SALSA_SCHEMA_REGISTRY_USER_INFO";
    /** A bearer token, as Confluent's {@code bearer.auth.token} (static; refresh means restart). */
    public static final String BEARER_TOKEN_ENV = "SALSA_SCHEMA_REGISTRY_BEARER_TOKEN";

    private final URI base;
    private final HttpClient http;
    private final Duration requestTimeout;
    /** The Authorization header's value, or null; never printed. */
    private final String authorization;
    private final Map<Integer, Schema> byId = new ConcurrentHashMap<>();

    /**
     * @param baseUrl the registry's base URL, e.g. {@code http://schema-registry:8081} or
     *                {@code http://apicurio:8080/apis/ccompat/v7}
     */
    public ConfluentRestSchemaRegistry(URI baseUrl) {
        this(baseUrl, Duration.ofSeconds(10));
    }

    public ConfluentRestSchemaRegistry(URI baseUrl, Duration requestTimeout) {
        this(baseUrl, requestTimeout, null);
    }

    /**
     * @param authorization the {@code Authorization} header to send with every request ({@link #basic} or
     *                      {@link #bearer}), or null for none
     */
    public ConfluentRestSchemaRegistry(URI baseUrl, Duration requestTimeout, String authorization) {
        Objects.requireNonNull(baseUrl, "baseUrl");
        String s = baseUrl.toString();
        this.base = URI.create(s.endsWith("/") ? s : s + "/");
        this.requestTimeout = Objects.requireNonNull(requestTimeout, "requestTimeout");
        this.authorization = authorization;
        this.http = HttpClient.newBuilder().connectTimeout(requestTimeout).build();
    }

    /**
     * The client for {@code baseUrl} with the credentials of the environment: {@value #USER_INFO_ENV}
     * ({@code user:password}), {@value #BEARER_TOKEN_ENV}, or {@code user:password@} in the URL itself (removed
     * from the URL used). At most one of the three may be given.
     *
     * @throws IllegalArgumentException naming the variable when the credentials are malformed or ambiguous
     */
    public static ConfluentRestSchemaRegistry fromEnv(URI baseUrl, Map<String, String> env) {
        String userInfo = blankToNull(env.get(USER_INFO_ENV));
        String token = blankToNull(env.get(BEARER_TOKEN_ENV));
        URI url = baseUrl;
        String inUrl = baseUrl.getRawUserInfo();
        if (inUrl != null) {
            try {
                url = new URI(baseUrl.getScheme(), null, baseUrl.getHost(), baseUrl.getPort(), baseUrl.getPath(),
                        baseUrl.getQuery(), baseUrl.getFragment());
            } catch (java.net.URISyntaxException e) {
                throw new IllegalArgumentException("schema registry URL without its user:password@ is invalid: "
                        + e.getMessage(), e);
            }
            inUrl = java.net.URLDecoder.decode(inUrl, StandardCharsets.UTF_8);
        }
        int given = (userInfo != null ? 1 : 0) + (token != null ? 1 : 0) + (inUrl != null ? 1 : 0);
        if (given > 1) {
            throw new IllegalArgumentException("schema registry credentials are given more than once: set only one of "
                    + USER_INFO_ENV + ", " + BEARER_TOKEN_ENV + " or user:password@ in the registry URL");
        }
        String header = null;
        if (userInfo != null || inUrl != null) {
            String info = userInfo != null ? userInfo : inUrl;
            String source = userInfo != null ? USER_INFO_ENV : "the registry URL's user:password@";
            if (info.indexOf(':') < 1) {
                throw new IllegalArgumentException(source + " must be user:password (as Confluent's "
                        + "basic.auth.user.info)");
            }
            header = basic(info.substring(0, info.indexOf(':')), info.substring(info.indexOf(':') + 1));
        } else if (token != null) {
            header = bearer(token);
        }
        return new ConfluentRestSchemaRegistry(url, Duration.ofSeconds(10), header);
    }

    /** The {@code Authorization} value of HTTP basic auth. */
    public static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** The {@code Authorization} value of a bearer token. */
    public static String bearer(String token) {
        if (token.chars().anyMatch(c -> c <= ' ' || c > '~')) {
            throw new IllegalArgumentException(BEARER_TOKEN_ENV + " must be printable ASCII without spaces");
        }
        return "Bearer " + token;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    @Override
    public int register(String subject, Schema schema) {
        Reply r = call("POST", "subjects/" + encode(subject) + "/versions", schemaBody(schema));
        if (r.status == 409) {
            throw new IncompatibleSchemaException(subject, r.message());
        }
        JsonNode id = r.ok("register under subject " + subject).get("id");
        if (id == null || !id.canConvertToInt()) {
            throw new SchemaRegistryException("registry " + base + " answered a registration under " + subject
                    + " without an id: " + r.body);
        }
        byId.putIfAbsent(id.asInt(), schema);
        return id.asInt();
    }

    @Override
    public Schema getById(int id) {
        Schema cached = byId.get(id);
        if (cached != null) {
            return cached;
        }
        Reply r = call("GET", "schemas/ids/" + id, null);
        if (r.status == 404 && (r.errorCode() == SCHEMA_NOT_FOUND || r.errorCode() == -1)) {
            throw new SchemaNotFoundException(id, "the registry at " + base);
        }
        Schema schema = parse(r.ok("look up schema id " + id), "schema id " + id);
        byId.putIfAbsent(id, schema);
        return schema;
    }

    @Override
    public Optional<RegisteredSchema> latest(String subject) {
        Reply r = call("GET", "subjects/" + encode(subject) + "/versions/latest", null);
        if (r.status == 404 && (r.errorCode() == SUBJECT_NOT_FOUND || r.errorCode() == VERSION_NOT_FOUND)) {
            return Optional.empty();
        }
        JsonNode n = r.ok("read the latest version of subject " + subject);
        return Optional.of(new RegisteredSchema(subject, n.path("version").asInt(), n.path("id").asInt(),
                parse(n, "latest version of subject " + subject)));
    }

    @Override
    public boolean isCompatible(String subject, Schema schema) {
        Reply r = call("POST", "compatibility/subjects/" + encode(subject) + "/versions/latest", schemaBody(schema));
        if (r.status == 404 && (r.errorCode() == SUBJECT_NOT_FOUND || r.errorCode() == VERSION_NOT_FOUND)) {
            return true; // nothing to be compatible with yet
        }
        JsonNode answer = r.ok("check compatibility with subject " + subject).get("is_compatible");
        if (answer == null || !answer.isBoolean()) {
            throw new SchemaRegistryException("registry " + base + " answered a compatibility check of " + subject
                    + " without is_compatible: " + r.body);
        }
        return answer.asBoolean();
    }

    /**
     * One look at whether the registry answers now ({@code GET subjects}, a single attempt within the request
     * timeout): null when it does; why not when it cannot be reached or answers a 5xx (what waiting can fix).
     *
     * @throws SchemaRegistryException when it answers with a refusal waiting will not change (401/403 credentials,
     *                                 404 not a registry at this URL, any other 4xx)
     */
    public String unreachable() {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve("subjects")).timeout(requestTimeout)
                .header("Accept", ACCEPT).GET();
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        HttpResponse<String> resp;
        try {
            resp = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
        if (resp.statusCode() >= 500) {
            return "HTTP " + resp.statusCode();
        }
        new Reply("GET " + base.resolve("subjects"), resp.statusCode(), resp.body()).okArray("list the subjects");
        return null;
    }

    @Override
    public void close() {
        // the JDK client of Java 17 has no close(); its threads are daemons
    }

    @Override
    public String toString() {
        return "ConfluentRestSchemaRegistry[" + base + (authorization == null ? ""
                : ", " + authorization.substring(0, authorization.indexOf(' ')).toLowerCase(java.util.Locale.ROOT)
                + " auth") + "]";
    }

    private static String schemaBody(Schema schema) {
        ObjectNode n = JSON.createObjectNode();
        n.put("schema", schema.toString());
        n.put("schemaType", "AVRO");
        return n.toString();
    }

    private Schema parse(JsonNode n, String what) {
        JsonNode text = n.get("schema");
        if (text == null || !text.isTextual()) {
            throw new SchemaRegistryException("registry " + base + " answered " + what + " without a schema");
        }
        try {
            return new Schema.Parser().parse(text.asText());
        } catch (SchemaParseException e) {
            throw new SchemaRegistryException("registry " + base + " returned an unparseable Avro schema for "
                    + what + ": " + e.getMessage(), e);
        }
    }

    private static String encode(String subject) {
        return URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private Reply call(String method, String path, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(requestTimeout)
                .header("Accept", ACCEPT);
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        if (body != null) {
            b.header("Content-Type", CONTENT_TYPE).method(method, HttpRequest.BodyPublishers.ofString(body));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpRequest request = b.build();
        IOException last = null;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            try {
                HttpResponse<String> resp = http.send(request, HttpResponse.BodyHandlers.ofString());
                if (resp.statusCode() >= 500 && attempt < ATTEMPTS) {
                    backoff(attempt);
                    continue;
                }
                return new Reply(method + " " + request.uri(), resp.statusCode(), resp.body());
            } catch (IOException e) {
                last = e;
                backoff(attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SchemaRegistryException("interrupted while calling the registry at " + base, e);
            }
        }
        throw new SchemaRegistryException("cannot reach the schema registry at " + base + " (" + method + " " + path
                + "): " + last, last);
    }

    private static void backoff(int attempt) {
        try {
            Thread.sleep(100L * attempt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One HTTP answer of the registry. */
    private static final class Reply {
        final String request;
        final int status;
        final String body;
        private JsonNode json;

        Reply(String request, int status, String body) {
            this.request = request;
            this.status = status;
            this.body = body == null ? "" : body;
        }

        JsonNode json() {
            if (json == null) {
                try {
                    json = JSON.readTree(body);
                } catch (IOException e) {
                    json = JSON.createObjectNode();
                }
                if (json == null) {
                    json = JSON.createObjectNode();
                }
            }
            return json;
        }

        int errorCode() {
            JsonNode c = json().get("error_code");
            return c != null && c.canConvertToInt() ? c.asInt() : -1;
        }

        String message() {
            JsonNode m = json().get("message");
            return m != null ? m.asText() : body;
        }

        /** As {@link #ok}, for the answers that are a JSON array. */
        JsonNode okArray(String what) {
            if (status / 100 == 2 && json().isArray()) {
                return json();
            }
            if (status / 100 == 2) {
                throw new SchemaRegistryException("the server at " + request + " answered with no subject list: "
                        + body + " (is it a Confluent-API schema registry?)");
            }
            return ok(what);
        }

        JsonNode ok(String what) {
            if (status / 100 != 2) {
                throw new SchemaRegistryException("schema registry refused to " + what + " (" + request + " → HTTP "
                        + status + (errorCode() >= 0 ? ", error " + errorCode() : "") + "): " + message()
                        + (status == 401 || status == 403 ? " (credentials: " + USER_INFO_ENV + " or "
                        + BEARER_TOKEN_ENV + ")" : ""));
            }
            if (!json().isObject()) {
                throw new SchemaRegistryException("schema registry answered " + request + " with non-JSON: " + body);
            }
            return json();
        }
    }
}
