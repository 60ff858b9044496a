package io.salsa.ingest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.events.ChatTurn;
import io.salsa.events.Preference;
import io.salsa.events.PreferenceResponse;
import io.salsa.runtime.metrics.SalsaMetrics;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The HTTP surface of feedback-ingest on Jetty's core (non-servlet) API: routing, authentication, rate
 * limiting, validation, idempotency and the asynchronous wait for Kafka's acknowledgement, so that no server
 * thread is held while an event is in flight.
 */
public final class IngestHandler extends Handler.Abstract {

    static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    private static final Pattern KEY_PATTERN = Pattern.compile("[\\x21-\\x7e]{1,128}");
    private static final String JSON = "application/json";
    /** How much of a refused request's body is read and discarded before answering, to keep the connection. */
    private static final long DRAIN_LIMIT_BYTES = 1L << 20;

    private final IngestConfig config;
    private final Raters raters;
    private final RateLimiter rateLimiter;
    private final TaskBoard board;
    private final PromptConversations conversations;
    private final IdempotencyStore store;
    private final FeedbackPublisher publisher;
    private final IngestMetrics metrics;
    private final AnswerParser parser;
    private final LongSupplier clockMs;
    private static final ObjectMapper JSON_MAPPER = JsonMapper.builder().build();
    private final Map<String, Static> statics;

    private record Static(byte[] body, String contentType) { }

    public IngestHandler(IngestConfig config, Raters raters, RateLimiter rateLimiter, TaskBoard board,
                         PromptConversations conversations, IdempotencyStore store, FeedbackPublisher publisher, IngestMetrics metrics,
                         LongSupplier clockMs) {
        this.config = config;
        this.raters = raters;
        this.rateLimiter = rateLimiter;
        this.board = board;
        this.conversations = conversations;
        this.store = store;
        this.publisher = publisher;
        this.metrics = metrics;
        this.parser = new AnswerParser(config.maxReasonChars());
        this.clockMs = clockMs;
        this.statics = Map.of(
                "/", load("index.html", "text/html; charset=utf-8"),
                "/app.js", load("app.js", "text/javascript; charset=utf-8"),
                "/app.css", load("app.css", "text/css; charset=utf-8"));
    }

    private static Static load(String name, String contentType) {
        try (InputStream in = IngestHandler.class.getResourceAsStream("web/" + name)) {
            if (in == null) {
                throw new IllegalStateException("resource io/salsa/ingest/web/" + name + " missing from the jar");
            }
            return new Static(in.readAllBytes(), contentType);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One exchange: where it goes, and the single place its response is written and counted. */
    private final class Exchange {
        final Request request;
        final Response response;
        final Callback callback;
        final String route;
        final long t0 = System.nanoTime();
        final AtomicBoolean done = new AtomicBoolean();

        Exchange(Request request, Response response, Callback callback, String route) {
            this.request = request;
            this.response = response;
            this.callback = callback;
            this.route = route;
        }

        void send(int status, String contentType, ByteBuffer body, Map<String, String> headers) {
            if (!done.compareAndSet(false, true)) {
                return;
            }
            response.setStatus(status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
            response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
            headers.forEach((k, v) -> response.getHeaders().put(k, v));
            metrics.request(route, request.getMethod(), status, System.nanoTime() - t0);
            // refused before the body was read (415, 401, 413, ...): the client may still be sending it. Answering
            // now and closing would reset the connection under the client before it reads the answer, and a pooled
            // connection left with body bytes on it fails the client's next request. So read the rest and throw it
            // away (up to a bound), then answer; past the bound, answer and close. A body already read ends at once.
            RequestBody.discard(request, DRAIN_LIMIT_BYTES, drained -> {
                if (!drained) {
                    response.getHeaders().put(HttpHeader.CONNECTION, "close");
                }
                response.write(true, body, callback);
            });
        }

        void json(int status, String body, Map<String, String> headers) {
            send(status, JSON, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), headers);
        }

        void error(ApiException e) {
            metrics.reject(e.reason());
            ObjectNode n = JSON_MAPPER.createObjectNode();
            n.put("error", e.reason());
            n.put("message", e.getMessage());
            if (e.where() != null) {
                n.put("where", e.where());
            }
            Map<String, String> headers = switch (e.status()) {
                case 401 -> Map.of("WWW-Authenticate", "Bearer realm=\"salsa\"");
                case 503 -> Map.of("Retry-After", "1");
                default -> Map.of();
            };
            json(e.status(), n.toString(), headers);
        }
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        String path = Request.getPathInContext(request);
        String method = request.getMethod();
        String route = switch (path) {
            case "/api/tasks/next", "/api/tasks/skip", "/api/preferences", "/healthz", "/readyz", "/metrics", "/" -> path;
            case "/app.js", "/app.css", "/index.html" -> "static";
            default -> "other";
        };
        Exchange ex = new Exchange(request, response, callback, route);
        try {
            switch (path) {
                case "/api/tasks/next" -> {
                    requireMethod(method, "GET");
                    nextTask(ex);
                }
                case "/api/tasks/skip" -> {
                    requireMethod(method, "POST");
                    skipTask(ex);
                }
                case "/api/preferences" -> {
                    requireMethod(method, "POST");
                    postPreference(ex);
                }
                case "/healthz", "/readyz" -> {
                    requireMethod(method, "GET");
                    health(ex);
                }
                case "/metrics" -> {
                    requireMethod(method, "GET");
                    ex.send(200, "text/plain; version=0.0.4; charset=utf-8",
                            ByteBuffer.wrap((metrics.render() + SalsaMetrics.scrape()).getBytes(StandardCharsets.UTF_8)),
                            Map.of());
                }
                default -> {
                    Static s = statics.get(path.equals("/index.html") ? "/" : path);
                    if (s == null) {
                        throw new ApiException(404, "not_found", "no such resource: " + abbreviate(path), "path");
                    }
                    requireMethod(method, "GET");
                    ex.send(200, s.contentType(), ByteBuffer.wrap(s.body()), Map.of());
                }
            }
        } catch (ApiException e) {
            ex.error(e);
        } catch (RuntimeException e) {
            ex.error(new ApiException(500, "internal_error", "internal error: " + e.getClass().getSimpleName(), null));
        }
        return true;
    }

    private static void requireMethod(String method, String allowed) {
        if (!allowed.equals(method)) {
            throw new ApiException(405, "method_not_allowed", "use " + allowed + " here, not " + method, "method");
        }
    }

    private String authenticate(Request request) {
        String header = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        if (header == null) {
            throw new ApiException(401, "unauthorized", "missing 'Authorization: Bearer <token>' header",
                    "Authorization");
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new ApiException(401, "unauthorized", "the Authorization header must use the Bearer scheme",
                    "Authorization");
        }
        Optional<String> rater = raters.authenticate(header.substring(7).strip());
        return rater.orElseThrow(() -> new ApiException(401, "unauthorized", "unknown bearer token", "Authorization"));
    }

    /** Applies the rater's rate limit; answers 429 (with Retry-After) and returns false when it is exceeded. */
    private boolean admit(Exchange ex, String raterId) {
        long retryAfter = rateLimiter.tryAcquire(raterId);
        if (retryAfter == 0) {
            return true;
        }
        metrics.reject("rate_limited");
        ObjectNode n = JSON_MAPPER.createObjectNode();
        n.put("error", "rate_limited");
        n.put("message", "too many requests from rater " + raterId + "; the limit is " + config.ratePerSecond()
                + "/s with bursts of " + config.rateBurst());
        n.put("retryAfterSeconds", retryAfter);
        ex.json(429, n.toString(), Map.of("Retry-After", Long.toString(retryAfter)));
        return false;
    }

    private void nextTask(Exchange ex) {
        String raterId = authenticate(ex.request);
        if (!admit(ex, raterId)) {
            return;
        }
        Optional<TaskBoard.Task> task = board.next(raterId, clockMs.getAsLong());
        ObjectNode n = JSON_MAPPER.createObjectNode();
        n.put("rater", raterId);
        n.put("answered", board.answeredCount(raterId));
        if (task.isEmpty()) {
            n.putNull("task");
            n.put("message", "no comparison available yet; new rollouts are paired as they arrive");
            n.put("retryAfterSeconds", 2);
        } else {
            TaskBoard.Task t = task.get();
            ObjectNode tn = n.putObject("task");
            tn.put("taskId", t.taskId());
            tn.put("promptId", t.promptId());
            tn.put("prompt", t.promptText());
            List<ChatTurn> turns = conversations.turns(t.promptId());
            if (turns != null) {
                ArrayNode messages = tn.putArray("messages");
                turns.forEach(turn -> messages.addObject().put("role", turn.getRole())
                        .put("content", turn.getContent()));
            }
            tn.putObject("a").put("text", t.a().text());
            tn.putObject("b").put("text", t.b().text());
        }
        ex.json(200, n.toString(), Map.of());
    }

    /**
     * {@code POST /api/tasks/skip {"taskId"}}: the rater passes on a task; the pair stays in the pool for the
     * other raters (see {@link TaskBoard#skip}). Nothing goes to Kafka: a skip is not a preference.
     */
    private void skipTask(Exchange ex) {
        String raterId = authenticate(ex.request);
        if (!admit(ex, raterId)) {
            return;
        }
        readJsonBody(ex, body -> {
            String taskId = parser.parseSkip(body);
            board.skip(raterId, taskId, clockMs.getAsLong());
            ObjectNode n = JSON_MAPPER.createObjectNode();
            n.put("taskId", taskId);
            n.put("skipped", true);
            ex.json(200, n.toString(), Map.of());
        });
    }

    private void postPreference(Exchange ex) {
        String raterId = authenticate(ex.request);
        if (!admit(ex, raterId)) {
            return;
        }
        String headerKey = ex.request.getHeaders().get(IDEMPOTENCY_KEY);
        if (headerKey != null && !KEY_PATTERN.matcher(headerKey).matches()) {
            throw new ApiException(400, "invalid_idempotency_key", "Idempotency-Key must be 1-128 printable ASCII"
                    + " characters without spaces", IDEMPOTENCY_KEY);
        }
        readJsonBody(ex, body -> answer(ex, raterId, headerKey, body));
    }

    /** Checks the Content-Type and size of a JSON request body, reads it, and hands it to {@code onBody}. */
    private void readJsonBody(Exchange ex, Consumer<byte[]> onBody) {
        String contentType = ex.request.getHeaders().get(HttpHeader.CONTENT_TYPE);
        if (!RequestBody.isJson(contentType)) {
            throw new ApiException(415, "unsupported_media_type", "Content-Type must be application/json (UTF-8), got "
                    + (contentType == null ? "none" : "'" + abbreviate(contentType) + "'"), "Content-Type");
        }
        long length = ex.request.getLength();
        if (length > config.maxBodyBytes()) {
            throw new ApiException(413, "body_too_large", "request body has " + length + " bytes; the limit is "
                    + config.maxBodyBytes(), "body");
        }
        RequestBody.keep(ex.request, config.maxBodyBytes(), body -> {
            try {
                onBody.accept(body);
            } catch (ApiException e) {
                ex.error(e);
            } catch (RuntimeException e) {
                ex.error(new ApiException(500, "internal_error", "internal error: " + e.getClass().getSimpleName(),
                        null));
            }
        }, ex::error);
    }


    private void answer(Exchange ex, String raterId, String headerKey, byte[] body) {
        Answer answer = parser.parse(body);
        String key = headerKey != null ? headerKey : "task:" + answer.taskId();
        IdempotencyStore.Entry mine = new IdempotencyStore.Entry(answer.fingerprint(), new CompletableFuture<>());
        IdempotencyStore.Entry earlier = store.putIfAbsent(raterId, key, mine);
        if (earlier != null) {
            if (!earlier.fingerprint().equals(answer.fingerprint())) {
                throw new ApiException(422, "idempotency_key_reused", "Idempotency-Key '" + key + "' was already used"
                        + " for a different answer; use a new key for a new answer", IDEMPOTENCY_KEY);
            }
            metrics.replayed();
            respondWhenDone(ex, earlier.outcome(), true);
            return;
        }
        TaskBoard.Task task;
        try {
            task = board.claim(raterId, answer.taskId(), key, clockMs.getAsLong());
        } catch (ApiException e) {
            forget(raterId, key, mine, e);
            throw e;
        }
        Preference event = toEvent(raterId, key, task, answer);
        CompletableFuture<RecordMetadata> acked;
        try {
            acked = publisher.publish(event);
        } catch (ApiException e) {
            board.release(task, key);
            forget(raterId, key, mine, e);
            throw e;
        }
        acked.whenComplete((md, failure) -> {
            if (failure == null) {
                board.answered(task);
                metrics.published();
                mine.outcome().complete(new IdempotencyStore.Outcome(201,
                        createdBody(event.getPreferenceId(), task.taskId(), task.promptId(), md.partition(),
                                md.offset())));
            } else {
                // the producer gave up for good: forget the key so a retry can publish (same preference id)
                board.release(task, key);
                forget(raterId, key, mine, failure);
            }
        });
        respondWhenDone(ex, mine.outcome(), false);
    }

    /**
     * Drops a key whose request ended without an event, and fails its outcome so that a concurrent retry that
     * joined it gets the same answer at once rather than waiting for a timeout.
     */
    private void forget(String raterId, String key, IdempotencyStore.Entry entry, Throwable why) {
        store.remove(raterId, key, entry);
        entry.outcome().completeExceptionally(why);
    }

    private void respondWhenDone(Exchange ex, CompletableFuture<IdempotencyStore.Outcome> outcome, boolean replay) {
        outcome.copy().orTimeout(config.ackTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((o, failure) -> {
                    if (failure == null) {
                        ex.json(o.status(), o.body(), replay ? Map.of("Idempotent-Replayed", "true") : Map.of());
                        return;
                    }
                    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                            ? failure.getCause() : failure;
                    if (cause instanceof ApiException api) {
                        ex.error(api);
                    } else if (cause instanceof TimeoutException) {
                        publisher.markSuspect();
                        ex.error(new ApiException(503, "kafka_timeout", "Kafka did not acknowledge the preference"
                                + " within " + config.ackTimeout().toMillis() + " ms; it may still be written."
                                + " Retry with the same Idempotency-Key to get the definite outcome", null));
                    } else {
                        ex.error(new ApiException(503, "kafka_unavailable", "Kafka refused the preference ("
                                + cause.getClass().getSimpleName() + "); nothing was recorded. Retry later with the"
                                + " same Idempotency-Key", null));
                    }
                });
    }

    /** The 201 body: the same for the original request, a replay, and a replay rebuilt from the topic. */
    static String createdBody(String preferenceId, String taskId, String promptId, int partition, long offset) {
        ObjectNode n = JSON_MAPPER.createObjectNode();
        n.put("preferenceId", preferenceId);
        n.put("taskId", taskId);
        n.put("promptId", promptId);
        n.put("partition", partition);
        n.put("offset", offset);
        return n.toString();
    }

    private Preference toEvent(String raterId, String key, TaskBoard.Task task, Answer answer) {
        return Preference.newBuilder()
                .setPreferenceId(IdempotencyStore.preferenceId(raterId, key))
                .setIdempotencyKey(key)
                .setPromptId(task.promptId())
                .setPromptText(task.promptText())
                .setTaskId(task.taskId())
                .setRaterId(raterId)
                .setResponseA(toResponse(task.a()))
                .setResponseB(answer.rating() == null ? toResponse(task.b()) : null)
                .setChoice(answer.choice())
                .setRating(answer.rating())
                .setReason(answer.reason())
                .setSubmittedAtMs(clockMs.getAsLong())
                .build();
    }

    private static PreferenceResponse toResponse(TaskBoard.Response r) {
        return PreferenceResponse.newBuilder()
                .setRolloutId(r.rolloutId())
                .setText(r.text())
                .setTokenIds(r.tokenIds())
                .setPolicyVersion(r.policyVersion())
                .build();
    }

    private void health(Exchange ex) {
        boolean up = publisher.kafkaUp();
        ObjectNode n = JSON_MAPPER.createObjectNode();
        n.put("status", up ? "ok" : "degraded");
        n.put("kafka", up ? "up" : "not acknowledging writes");
        n.put("pendingSends", publisher.pending());
        n.put("pairsInPool", board.pairsInPool());
        ex.json(up ? 200 : 503, n.toString(), Map.of());
    }

    private static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "…";
    }
}
