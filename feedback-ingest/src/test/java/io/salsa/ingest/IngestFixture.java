package io.salsa.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.events.ChatTurn;
import io.salsa.events.Prompt;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/** A running ingest service on its own topic prefix, with three raters and a small HTTP client for tests. */
final class IngestFixture implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Map<String, String> TOKENS = Map.of("alice", "alice-token", "bob", "bob-token", "carol",
            "carol-token");

    final KafkaSettings settings;
    final Map<String, String> env;
    IngestApp app;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** A response as the test sees it. */
    record Reply(int status, JsonNode json, HttpResponse<String> raw) {
        String header(String name) {
            return raw.headers().firstValue(name).orElse(null);
        }
    }

    IngestFixture(String bootstrap, Map<String, String> overrides) {
        this.settings = KafkaSettings.embedded(bootstrap, "ingest-" + UUID.randomUUID().toString().substring(0, 8)
                + ".");
        this.env = new HashMap<>();
        StringBuilder raters = new StringBuilder();
        TOKENS.forEach((rater, token) -> raters.append(rater).append(':').append(Raters.sha256Hex(token)).append(','));
        env.put(IngestConfig.RATERS, raters.toString());
        env.put(IngestConfig.PORT, "0");
        env.put(IngestConfig.RATE_PER_SECOND, "1000");
        env.put(IngestConfig.RATE_BURST, "1000");
        env.put(IngestConfig.MAX_REASON_CHARS, "50");
        env.put(IngestConfig.MAX_BODY_BYTES, "1024");
        env.putAll(overrides);
    }

    IngestFixture seed(int prompts, int perPrompt) {
        SyntheticRollouts.publish(settings, "seed", prompts, perPrompt);
        return this;
    }

    /**
     * Publishes prompt {@code tag-pN} (the id {@link SyntheticRollouts} gives prompt N of {@code tag}) to the
     * prompts topic as the chat conversation {@code roleAndContent} (role, content, role, content, ...).
     */
    IngestFixture conversation(String tag, int prompt, String... roleAndContent) {
        List<ChatTurn> turns = new ArrayList<>();
        for (int i = 0; i < roleAndContent.length; i += 2) {
            turns.add(new ChatTurn(roleAndContent[i], roleAndContent[i + 1]));
        }
        Prompt p = Prompt.newBuilder().setPromptId(tag + "-p" + prompt)
                .setText(String.join("\n", roleAndContent)).setMessages(turns)
                .setCreatedAtMs(System.currentTimeMillis()).build();
        TopicAdmin.ensureTopics(settings, List.of(Topics.PROMPTS));
        try (Producer<String, Prompt> producer = new KafkaProducer<>(settings.producerProps(),
                settings.keySerde().serializer(), settings.valueSerde(Topics.PROMPTS).serializer())) {
            producer.send(new ProducerRecord<>(settings.topic(Topics.PROMPTS), p.getPromptId(), p)).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("publishing prompt " + p.getPromptId() + " failed", e.getCause());
        }
        return this;
    }

    IngestFixture start() throws Exception {
        app = IngestApp.start(IngestConfig.fromEnv(env), new IngestKafka(settings));
        return this;
    }

    /** Starts the service again on a given port (after {@link #stopApp}), as a restarted deployment would. */
    IngestFixture startOn(int port) throws Exception {
        env.put(IngestConfig.PORT, Integer.toString(port));
        return start();
    }

    void stopApp() {
        if (app != null) {
            app.close();
            app = null;
        }
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + app.port() + path);
    }

    Reply get(String path, String rater) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).GET();
        if (rater != null) {
            b.header("Authorization", "Bearer " + TOKENS.getOrDefault(rater, rater));
        }
        return send(b.build());
    }

    Reply post(String rater, String body, String idempotencyKey) {
        return post("/api/preferences", rater, body, idempotencyKey);
    }

    /** {@code POST /api/tasks/skip} with the given body. */
    Reply skip(String rater, String body) {
        return post("/api/tasks/skip", rater, body, null);
    }

    Reply post(String path, String rater, String body, String idempotencyKey) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (rater != null) {
            b.header("Authorization", "Bearer " + TOKENS.getOrDefault(rater, rater));
        }
        if (idempotencyKey != null) {
            b.header("Idempotency-Key", idempotencyKey);
        }
        return send(b.build());
    }

    Reply send(HttpRequest request) {
        try {
            HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
            JsonNode json = null;
            if (r.headers().firstValue("Content-Type").orElse("").startsWith("application/json")) {
                json = JSON.readTree(r.body());
            }
            return new Reply(r.statusCode(), json, r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The rater's next task (fails the test if there is none). */
    JsonNode nextTask(String rater) {
        Reply r = get("/api/tasks/next", rater);
        if (r.status() != 200 || r.json().get("task").isNull()) {
            throw new AssertionError("no task for " + rater + ": " + r.status() + " " + r.raw().body());
        }
        return r.json().get("task");
    }

    static String choiceBody(String taskId, String choice) {
        return "{\"taskId\":\"" + taskId + "\",\"choice\":\"" + choice + "\"}";
    }

    @Override
    public void close() {
        stopApp();
        settings.closeRegistry();
    }
}
