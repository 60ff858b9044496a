package io.salsa.ingest;

import static io.salsa.ingest.IngestFixture.choiceBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.salsa.events.Choice;
import io.salsa.events.Preference;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(KafkaExtension.class)
class IngestApiTest {

    @Test
    void shouldPublishOnePreferencePerAnswerAndAnswerOnlyAfterTheAck(TestKafka kafka) throws Exception {
        try (IngestFixture f = new IngestFixture(kafka.bootstrapServers(), Map.of()).seed(3, 3).start()) {
            JsonNode task = f.nextTask("alice");
            assertNotEquals(task.get("a").get("text").asText(), task.get("b").get("text").asText());
            IngestFixture.Reply r = f.post("alice", "{\"taskId\":\"" + task.get("taskId").asText()
                    + "\",\"choice\":\"B\",\"reason\":\"more precise\"}", "k-1");
            assertEquals(201, r.status(), r.raw().body());
            String id = r.json().get("preferenceId").asText();
            assertEquals(IdempotencyStore.preferenceId("alice", "k-1"), id);

            JsonNode rating = f.nextTask("alice");
            IngestFixture.Reply rated = f.post("alice", "{\"taskId\":\"" + rating.get("taskId").asText()
                    + "\",\"rating\":6}", null);
            assertEquals(201, rated.status(), rated.raw().body());

            List<Preference> events = FeedbackAudit.readAll(f.settings);
            assertEquals(2, events.size());
            Preference p = events.stream().filter(e -> e.getPreferenceId().equals(id)).findFirst().orElseThrow();
            assertEquals("alice", p.getRaterId());
            assertEquals(Choice.B, p.getChoice());
            assertNull(p.getRating());
            assertEquals("more precise", p.getReason());
            assertEquals("k-1", p.getIdempotencyKey());
            assertEquals(task.get("taskId").asText(), p.getTaskId());
            assertEquals(task.get("promptId").asText(), p.getPromptId());
            assertEquals(task.get("prompt").asText(), p.getPromptText());
            assertEquals(task.get("a").get("text").asText(), p.getResponseA().getText());
            assertEquals(task.get("b").get("text").asText(), p.getResponseB().getText());
            assertNotEquals(p.getResponseA().getRolloutId(), p.getResponseB().getRolloutId());

            Preference r6 = events.stream().filter(e -> !e.getPreferenceId().equals(id)).findFirst().orElseThrow();
            assertEquals(6, r6.getRating());
            assertNull(r6.getChoice());
            assertNull(r6.getResponseB());
            assertEquals("task:" + rating.get("taskId").asText(), r6.getIdempotencyKey());
            assertEquals(2, f.get("/api/tasks/next", "alice").json().get("answered").asInt());
        }
    }

    @Test
    void shouldSendAConversationPromptsTurnsWithItsTasks(TestKafka kafka) throws Exception {
        try (IngestFixture f = new IngestFixture(kafka.bootstrapServers(), Map.of())
                .conversation("seed", 0, "system", "Be brief.", "user", "Hi <b>there</b>", "assistant", "Hello.",
                        "user", "Name a prime.")
                .seed(2, 2).start()) {
            JsonNode conversation = null;
            JsonNode plain = null;
            for (int i = 0; i < 2; i++) {
                JsonNode task = f.nextTask("alice");
                if (task.get("promptId").asText().equals("seed-p0")) {
                    conversation = task;
                } else {
                    plain = task;
                }
                assertEquals(200, f.skip("alice", "{\"taskId\":\"" + task.get("taskId").asText() + "\"}").status());
            }
            assertNotNull(conversation, "a task on the conversation prompt");
            assertNotNull(plain, "a task on the plain prompt");
            JsonNode turns = conversation.get("messages");
            assertEquals(4, turns.size(), conversation.toString());
            assertEquals("system", turns.get(0).get("role").asText());
            assertEquals("Hi <b>there</b>", turns.get(1).get("content").asText(), "sent as it is; the page escapes");
            assertEquals("Name a prime.", turns.get(3).get("content").asText());
            assertFalse(plain.has("messages"), "a plain-text prompt has no turns: " + plain);
        }
    }

    @Test
    void shouldTurnRetriesWithTheSameKeyIntoOneEvent(TestKafka kafka) throws Exception {
        try (IngestFixture f = new IngestFixture(kafka.bootstrapServers(), Map.of()).seed(2, 3).start()) {
            String taskId = f.nextTask("bob").get("taskId").asText();
            String body = choiceBody(taskId, "A");
            List<CompletableFuture<IngestFixture.Reply>> concurrent = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                concurrent.add(CompletableFuture.supplyAsync(() -> f.post("bob", body, "retry-key")));
            }
            Set<String> bodies = new HashSet<>();
            for (CompletableFuture<IngestFixture.Reply> c : concurrent) {
                IngestFixture.Reply r = c.get();
                assertEquals(201, r.status(), r.raw().body());
                bodies.add(r.raw().body());
            }
            assertEquals(1, bodies.size(), "every retry gets the original response");
            IngestFixture.Reply late = f.post("bob", body, "retry-key");
            assertEquals("true", late.header("Idempotent-Replayed"));
            assertEquals(bodies.iterator().next(), late.raw().body());

            IngestFixture.Reply reused = f.post("bob", choiceBody(taskId, "B"), "retry-key");
            assertEquals(422, reused.status());
            assertEquals("idempotency_key_reused", reused.json().get("error").asText());
            IngestFixture.Reply second = f.post("bob", choiceBody(taskId, "B"), "another-key");
            assertEquals(409, second.status());
            assertEquals("task_answered", second.json().get("error").asText());

            // retries of a refused answer share the refusal (no joiner is left waiting for a timeout)
            List<CompletableFuture<IngestFixture.Reply>> refused = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                refused.add(CompletableFuture.supplyAsync(() -> f.post("bob", choiceBody("gone", "A"), "gone-key")));
            }
            for (CompletableFuture<IngestFixture.Reply> c : refused) {
                assertEquals(404, c.get().status(), c.get().raw().body());
            }
            assertEquals(200, f.get("/healthz", null).status());

            assertEquals(1, FeedbackAudit.readAll(f.settings).size());
        }
    }

    @Test
    void shouldRejectEveryMalformedRequestWithWhatAndWhereAndPublishNothing(TestKafka kafka) throws Exception {
        try (IngestFixture f = new IngestFixture(kafka.bootstrapServers(), Map.of()).seed(2, 3).start()) {
            String taskId = f.nextTask("alice").get("taskId").asText();
            String ok = choiceBody(taskId, "A");

            assertRejected(f.get("/api/tasks/next", null), 401, "unauthorized", "Authorization");
            assertRejected(f.get("/api/tasks/next", "not-a-token"), 401, "unauthorized", "Authorization");
            assertRejected(f.post(null, ok, null), 401, "unauthorized", "Authorization");
            assertRejected(f.post("bob", ok, null), 403, "forbidden", "$.taskId");
            assertRejected(f.post("alice", choiceBody("no-such-task", "A"), null), 404, "unknown_task", "$.taskId");
            assertRejected(f.post("alice", "{\"taskId\":", null), 400, "malformed_json", "line 1, column 11");
            assertRejected(f.post("alice", "{\"taskId\":\"" + taskId + "\",\"choice\":\"A\",\"x\":1}", null), 400,
                    "unknown_field", "$.x");
            assertRejected(f.post("alice", "{\"taskId\":\"" + taskId + "\"}", null), 400, "missing_field", "$");
            assertRejected(f.post("alice", choiceBody(taskId, "C"), null), 422, "choice_out_of_range", "$.choice");
            assertRejected(f.post("alice", "{\"taskId\":\"" + taskId + "\",\"rating\":8}", null), 422,
                    "rating_out_of_range", "$.rating");
            assertRejected(f.post("alice", "{\"taskId\":\"" + taskId + "\",\"choice\":\"A\",\"reason\":\""
                    + "x".repeat(51) + "\"}", null), 422, "text_too_long", "$.reason");
            assertRejected(f.post("alice", ok, "bad key with spaces"), 400, "invalid_idempotency_key",
                    "Idempotency-Key");
            assertRejected(f.post("alice", "{\"taskId\":\"" + taskId + "\",\"choice\":\"A\",\"reason\":\""
                    + "x".repeat(2000) + "\"}", null), 413, "body_too_large", "body");

            HttpRequest chunkedHuge = HttpRequest.newBuilder(f.uri("/api/preferences"))
                    .header("Authorization", "Bearer alice-token").header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(
                            ("{\"taskId\":\"" + "y".repeat(5000) + "\"}").getBytes()))).build();
            assertRejected(f.send(chunkedHuge), 413, "body_too_large", "body");

            HttpRequest text = HttpRequest.newBuilder(f.uri("/api/preferences"))
                    .header("Authorization", "Bearer alice-token").header("Content-Type", "text/plain")
                    .POST(HttpRequest.BodyPublishers.ofString(ok)).build();
            assertRejected(f.send(text), 415, "unsupported_media_type", "Content-Type");
            HttpRequest latin1 = HttpRequest.newBuilder(f.uri("/api/preferences"))
                    .header("Authorization", "Bearer alice-token")
                    .header("Content-Type", "application/json; charset=ISO-8859-1")
                    .POST(HttpRequest.BodyPublishers.ofString(ok)).build();
            assertRejected(f.send(latin1), 415, "unsupported_media_type", "Content-Type");
            assertRejected(f.get("/api/preferences", "alice"), 405, "method_not_allowed", "method");
            assertRejected(f.get("/nowhere", "alice"), 404, "not_found", "path");

            assertTrue(FeedbackAudit.readAll(f.settings).isEmpty(), "nothing malformed reaches Kafka");
            assertEquals(201, f.post("alice", ok, null).status(), "the task is still answerable after all that");
            assertEquals(1, FeedbackAudit.readAll(f.settings).size());

            String metrics = f.get("/metrics", null).raw().body();
            assertTrue(metrics.contains("salsa_ingest_rejects_total{reason=\"unauthorized\"} 3"), metrics);
            assertTrue(metrics.contains("salsa_ingest_rejects_total{reason=\"body_too_large\"} 2"), metrics);
            assertTrue(metrics.contains("salsa_ingest_events_published_total 1"), metrics);
            assertTrue(metrics.contains("salsa_ingest_requests_total{route=\"/api/preferences\",method=\"POST\","
                    + "status=\"201\"} 1"), metrics);
            assertTrue(metrics.contains("salsa_ingest_request_duration_seconds_count{route=\"/api/preferences\"}"),
                    metrics);
        }
    }

    @Test
    void shouldKeepPooledConnectionsUsableAfterRequestsRefusedBeforeTheirBodyWasRead(TestKafka kafka)
            throws Exception {
        // a refusal sent before the body is read (wrong media type, oversized) must either consume the body or tell
        // the client the connection closes; otherwise the client's next request on the pooled connection gets no
        // reply at all ("header parser received no bytes")
        try (IngestFixture f = new IngestFixture(kafka.bootstrapServers(), Map.of()).seed(1, 2).start()) {
            String body = choiceBody("some-task", "A");
            for (int i = 0; i < 150; i++) {
                HttpRequest text = HttpRequest.newBuilder(f.uri("/api/preferences"))
                        .header("Authorization", "Bearer alice-token").header("Content-Type", "text/plain")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
                assertRejected(f.send(text), 415, "unsupported_media_type", "Content-Type");
                HttpRequest huge = HttpRequest.newBuilder(f.uri("/api/preferences"))
                        .header("Authorization", "Bearer alice-token").header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"taskId\":\"" + "y".repeat(40_000) + "\"}"))
                        .build();
                assertRejected(f.send(huge), 413, "body_too_large", "body");
                assertRejected(f.post(null, body, null), 401, "unauthorized", "Authorization");
                assertEquals(200, f.get("/healthz", null).status());
            }
        }
    }

    private static void assertRejected(IngestFixture.Reply r, int status, String error, String where) {
        assertEquals(status, r.status(), r.raw().body());
        assertEquals(error, r.json().get("error").asText(), r.raw().body());
        assertEquals(where, r.json().get("where").asText(), r.raw().body());
        assertFalse(r.json().get("message").asText().isBlank());
    }

    @Test
    void shouldLimitEachRaterSeparatelyWith429(TestKafka kafka) throws Exception {
        try (IngestFixture f = new IngestFixture(kafka.bootstrapServers(), Map.of(
                IngestConfig.RATE_PER_SECOND, "0.01", IngestConfig.RATE_BURST, "3")).seed(1, 2).start()) {
            for (int i = 0; i < 3; i++) {
                assertEquals(200, f.get("/api/tasks/next", "carol").status());
            }
            IngestFixture.Reply limited = f.get("/api/tasks/next", "carol");
            assertEquals(429, limited.status());
            assertEquals("rate_limited", limited.json().get("error").asText());
            assertTrue(Long.parseLong(limited.header("Retry-After")) >= 1);
            assertEquals(200, f.get("/api/tasks/next", "alice").status(), "alice has her own budget");
        }
    }

    @Test
    void shouldRememberKeysAndAnsweredPairsAcrossARestart(TestKafka kafka) throws Exception {
        try (IngestFixture f = new IngestFixture(kafka.bootstrapServers(), Map.of()).seed(1, 3).start()) {
            Set<String> pairsSeen = new HashSet<>();
            String firstTask = null;
            String firstBody = null;
            for (int i = 0; i < 2; i++) {
                JsonNode t = f.nextTask("alice");
                pairsSeen.add(pair(t));
                IngestFixture.Reply r = f.post("alice", choiceBody(t.get("taskId").asText(), "tie"), "key-" + i);
                assertEquals(201, r.status());
                if (i == 0) {
                    firstTask = t.get("taskId").asText();
                    firstBody = r.raw().body();
                }
            }
            f.stopApp();
            f.start();

            IngestFixture.Reply replay = f.post("alice", choiceBody(firstTask, "tie"), "key-0");
            assertEquals(201, replay.status(), replay.raw().body());
            assertEquals(firstBody, replay.raw().body(), "the same response after a restart");
            assertEquals("true", replay.header("Idempotent-Replayed"));
            assertEquals(422, f.post("alice", choiceBody(firstTask, "A"), "key-0").status());

            // 1 prompt x 3 rollouts = 3 pairs; alice answered 2 before the restart, so exactly 1 is left for her
            JsonNode next = f.get("/api/tasks/next", "alice").json();
            assertEquals(2, next.get("answered").asInt());
            assertFalse(pairsSeen.contains(pair(next.get("task"))));
            assertEquals(201, f.post("alice", choiceBody(next.get("task").get("taskId").asText(), "A"), null).status());
            assertTrue(f.get("/api/tasks/next", "alice").json().get("task").isNull());
            assertEquals(3, FeedbackAudit.readAll(f.settings).size());
        }
    }

    @Test
    void shouldSkipATaskWithoutPublishingAndLeaveItsPairToOthers(TestKafka kafka) throws Exception {
        try (IngestFixture f = new IngestFixture(kafka.bootstrapServers(), Map.of()).seed(1, 2).start()) {
            // 1 prompt x 2 rollouts = exactly 1 pair
            JsonNode task = f.nextTask("alice");
            String taskId = task.get("taskId").asText();
            String body = "{\"taskId\":\"" + taskId + "\"}";
            assertRejected(f.skip("bob", body), 403, "forbidden", "$.taskId");
            assertRejected(f.skip("alice", "{\"taskId\":\"nope\"}"), 404, "unknown_task", "$.taskId");
            assertRejected(f.skip("alice", "{\"taskId\":\"" + taskId + "\",\"why\":1}"), 400, "unknown_field",
                    "$.why");
            IngestFixture.Reply skipped = f.skip("alice", body);
            assertEquals(200, skipped.status(), skipped.raw().body());
            assertTrue(skipped.json().get("skipped").asBoolean());
            assertEquals(200, f.skip("alice", body).status(), "a retried skip succeeds again");
            assertRejected(f.post("alice", choiceBody(taskId, "A"), null), 409, "task_skipped", "$.taskId");

            JsonNode after = f.get("/api/tasks/next", "alice").json();
            assertTrue(after.get("task").isNull(), "alice is never given the skipped pair again");
            assertEquals(0, after.get("answered").asInt());
            JsonNode bobs = f.nextTask("bob");
            assertEquals(pair(task), pair(bobs), "the skipped pair is still there for another rater");
            assertEquals(201, f.post("bob", choiceBody(bobs.get("taskId").asText(), "B"), null).status());
            List<Preference> events = FeedbackAudit.readAll(f.settings);
            assertEquals(1, events.size(), "a skip publishes nothing");
            assertEquals("bob", events.get(0).getRaterId());
        }
    }

    private static String pair(JsonNode task) {
        return List.of(task.get("a").get("text").asText(), task.get("b").get("text").asText()).stream().sorted()
                .collect(Collectors.joining("|"));
    }

    @Test
    void shouldServeHealthMetricsAndThePage(TestKafka kafka) throws Exception {
        try (IngestFixture f = new IngestFixture(kafka.bootstrapServers(), Map.of()).seed(1, 2).start()) {
            IngestFixture.Reply health = f.get("/healthz", null);
            assertEquals(200, health.status());
            assertEquals("ok", health.json().get("status").asText());
            assertEquals(1, health.json().get("pairsInPool").asInt());
            IngestFixture.Reply page = f.get("/", null);
            assertEquals(200, page.status());
            assertTrue(page.raw().body().contains("<script src=\"/app.js\">"));
            assertFalse(page.raw().body().contains("http"), "no external resources");
            assertEquals(200, f.get("/app.js", null).status());
            String metrics = f.get("/metrics", null).raw().body();
            assertTrue(metrics.contains("# TYPE salsa_ingest_request_duration_seconds histogram"), metrics);
            assertTrue(metrics.contains("salsa_ingest_kafka_up 1"), metrics);
            assertTrue(metrics.contains("salsa_ingest_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"}"
                    + " 1"), metrics);
        }
    }
}
