package io.salsa.cli.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.task.RaterChoice;
import io.salsa.task.SimulatedRater;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.BooleanSupplier;

/**
 * A simulated rater that works exactly as a person on the rater page does: it asks feedback-ingest's HTTP API
 * for the next comparison, judges it with the task's {@link SimulatedRater}, and posts its choice with an
 * idempotency key, so the demo's preferences take the production path (auth, rate limits, Kafka acks).
 */
public final class SimulatedRaterClient {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI base;
    private final String raterId;
    private final String token;
    private final SimulatedRater judge;
    private final List<String> acknowledged = new ArrayList<>();
    private long submitted;
    private long ties;

    /**
     * @param base    the ingest service's base URL, e.g. {@code http://127.0.0.1:8080/}
     * @param raterId the rater id (for idempotency keys and messages)
     * @param token   the rater's bearer token
     * @param judge   the gold judge of the built-in task
     */
    public SimulatedRaterClient(URI base, String raterId, String token, SimulatedRater judge) {
        this.base = base;
        this.raterId = raterId;
        this.token = token;
        this.judge = judge;
    }

    /** Preferences this rater had accepted (HTTP 2xx). */
    public synchronized long submitted() {
        return submitted;
    }

    /** The preference ids the server acknowledged (HTTP 2xx), in order. */
    public synchronized List<String> acknowledged() {
        return List.copyOf(acknowledged);
    }

    /** Of those, how many were ties. */
    public synchronized long ties() {
        return ties;
    }

    /**
     * Answers comparisons until {@code enough} says so or the thread is interrupted, waiting as the API asks
     * (no task yet, or 429 with Retry-After).
     *
     * @throws IOException when the API answers something a correct client cannot recover from
     */
    public void run(BooleanSupplier enough) throws IOException, InterruptedException {
        while (!enough.getAsBoolean()) {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException("stopped");
            }
            HttpResponse<String> next = send(HttpRequest.newBuilder(base.resolve("api/tasks/next")).GET());
            if (next.statusCode() == 429) {
                Thread.sleep(retryAfterMillis(next));
                continue;
            }
            expectOk(next, "GET /api/tasks/next");
            JsonNode task = JSON.readTree(next.body()).path("task");
            if (task.isMissingNode() || task.isNull()) {
                Thread.sleep(200); // no pair yet: rollouts are still arriving
                continue;
            }
            String taskId = task.path("taskId").asText();
            RaterChoice choice = judge.prefer(task.path("prompt").asText(), task.path("a").path("text").asText(),
                    task.path("b").path("text").asText());
            String body = JSON.createObjectNode().put("taskId", taskId)
                    .put("choice", choice == RaterChoice.TIE ? "tie" : choice.name())
                    .put("reason", "simulated rater (gold judge of the built-in task)").toString();
            HttpRequest.Builder post = HttpRequest.newBuilder(base.resolve("api/preferences"))
                    .header("Content-Type", "application/json")
                    .header("Idempotency-Key", raterId + "-" + taskId)
                    .POST(HttpRequest.BodyPublishers.ofString(body));
            while (true) {
                HttpResponse<String> posted = send(post);
                if (posted.statusCode() == 429 || posted.statusCode() == 503) {
                    Thread.sleep(retryAfterMillis(posted)); // same idempotency key: a retry never duplicates
                    continue;
                }
                if (posted.statusCode() == 404 || posted.statusCode() == 409) {
                    break; // task expired meanwhile, or already answered: take the next one
                }
                expectOk(posted, "POST /api/preferences");
                String preferenceId = JSON.readTree(posted.body()).path("preferenceId").asText("");
                synchronized (this) {
                    if (!preferenceId.isEmpty()) {
                        acknowledged.add(preferenceId);
                    }
                    submitted++;
                    if (choice == RaterChoice.TIE) {
                        ties++;
                    }
                }
                break;
            }
        }
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
        return http.send(request.header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static long retryAfterMillis(HttpResponse<String> r) {
        try {
            return Math.max(100, Math.min(5000, 1000 * Long.parseLong(
                    r.headers().firstValue("Retry-After").orElse("1"))));
        } catch (NumberFormatException e) {
            return 1000;
        }
    }

    private void expectOk(HttpResponse<String> r, String what) throws IOException {
        if (r.statusCode() / 100 != 2) {
            throw new IOException(String.format(Locale.ROOT, "rater %s: %s answered %d: %s", raterId, what,
                    r.statusCode(), r.body()));
        }
    }
}
