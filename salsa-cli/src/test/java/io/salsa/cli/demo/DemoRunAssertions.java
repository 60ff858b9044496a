package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.cli.report.ReportWriter;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topic;
import io.salsa.schemas.Topics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What every end-to-end {@code salsa demo} test asserts about a finished run, whatever its base architecture, so the
 * GPT-2 and the Llama-style demo tests check the same chain.
 */
final class DemoRunAssertions {

    private static final ObjectMapper JSON = new ObjectMapper();

    private DemoRunAssertions() {
    }

    /**
     * The run in {@code dir} finished (exit 0) and left every model folder, the rater page, the report leading with
     * its headline, and a results.json whose replay sha256 equals the loop's and whose headline numbers are present.
     *
     * @return results.json's text, for further checks
     */
    static String assertFinishedRun(Path dir, DemoProfile profile, int code, String log) throws IOException {
        assertEquals(0, code, log);
        for (String model : List.of("base", "sft-1", "sft-2", "soup-k2", "reward-model/member-1",
                "reward-model/member-2")) {
            assertTrue(Files.isRegularFile(dir.resolve("models").resolve(model).resolve("model.safetensors")), model);
        }
        assertTrue(log.contains("Rater page: http://127.0.0.1:"), log);
        assertTrue(Files.isRegularFile(dir.resolve("run").resolve(ReportWriter.REPORT_FILE)));
        String results = Files.readString(dir.resolve("run/results.json"));
        assertTrue(results.contains("\"reward-model.sha256\""), results);
        // the SALSA loop ran over Kafka and replay reproduced its final checkpoint bit for bit
        String loopSha = fact(results, "salsa-loop.final_checkpoint_sha256");
        assertEquals(64, loopSha.length(), results);
        assertEquals(loopSha, fact(results, "replay.final_checkpoint_sha256"), results);
        assertEquals(String.valueOf(profile.ppoSteps()), fact(results, "salsa-loop.steps"), results);
        assertTrue(log.contains("replay") && log.contains("identical"), log);
        // the headline numbers under their stable names, and the report leads with them
        JsonNode alignment = JSON.readTree(results).path("alignment");
        for (String name : List.of("gold_start", "gold_end", "rm_accuracy", "final_kl")) {
            assertTrue(alignment.path(name).isNumber(), "alignment." + name + " in " + results);
        }
        assertEquals(2, alignment.path("gold_delta_ci").size(), results);
        assertTrue(alignment.path("gold_delta_ci").get(0).asDouble() <= alignment.path("gold_delta_ci").get(1)
                .asDouble(), results);
        String html = Files.readString(dir.resolve("run").resolve(ReportWriter.REPORT_FILE));
        assertTrue(html.substring(html.indexOf("<body>") + 6).strip().startsWith("<section id=\"headline\""),
                html.substring(0, Math.min(html.length(), 2000)));
        return results;
    }

    /**
     * Records on every topic the chain writes; at least the profile's preferences on feedback, the soup (v0) plus
     * one checkpoint per step on policy, exactly one manifest and one metrics record per step.
     */
    static void assertRecordsOnEveryTopic(KafkaSettings kafka, DemoProfile profile) {
        for (Topic<?, ?> topic : DemoStages.TOPICS_WRITTEN) {
            assertTrue(records(kafka, topic) > 0, "records on " + topic.baseName());
        }
        assertTrue(records(kafka, Topics.FEEDBACK) >= profile.preferences());
        assertTrue(records(kafka, Topics.POLICY) >= 1 + profile.ppoSteps());
        assertEquals(profile.ppoSteps(), records(kafka, Topics.LEARNER_BATCHES));
        assertEquals(profile.ppoSteps(), records(kafka, Topics.METRICS));
        // the raters' responses and the loop's rollouts are sampled at the demo's temperature, and carry it
        List<io.salsa.events.Rollout> rollouts = KafkaLog.readValues(kafka, Topics.ROLLOUTS,
                java.time.Duration.ofSeconds(60), (r, e) -> { throw new AssertionError("undecodable rollout", e); });
        assertTrue(rollouts.stream().anyMatch(r -> r.getPolicyRunId().toString().startsWith("sft-")));
        assertTrue(rollouts.stream().anyMatch(r -> !r.getPolicyRunId().toString().startsWith("sft-")));
        for (io.salsa.events.Rollout r : rollouts) {
            assertEquals((float) KafkaLoopStages.TEMPERATURE, r.getTemperature(), 0f, r.getRolloutId().toString());
        }
    }

    /** The value of {@code key} in results.json's facts (a flat JSON string field), "" when absent. */
    static String fact(String json, String key) throws IOException {
        JsonNode v = JSON.readTree(json).findValue(key);
        return v == null ? "" : v.asText();
    }

    private static long records(KafkaSettings kafka, Topic<?, ?> topic) {
        return KafkaLog.endOffsetSum(kafka, kafka.topic(topic));
    }
}
