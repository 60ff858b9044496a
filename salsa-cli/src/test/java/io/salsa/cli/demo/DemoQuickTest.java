package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.broker.EmbeddedKafkaBroker;
import io.salsa.cli.report.ReportWriter;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topic;
import io.salsa.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code salsa demo --quick} end to end on its own embedded broker, then a resumed second run. */
class DemoQuickTest {

    @Test
    void shouldRunTheWholeChainThenResumeWithoutRedoingIt(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

        int code = DemoCommand.run(dir, DemoProfile.quick(), false, out);

        String log = printed.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, log);
        for (String model : List.of("base", "sft-1", "sft-2", "soup-k2", "reward-model")) {
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
        assertEquals(String.valueOf(DemoProfile.quick().ppoSteps()), fact(results, "salsa-loop.steps"), results);
        assertTrue(log.contains("replay") && log.contains("identical"), log);
        // the headline numbers under their stable names, and the report leads with them
        com.fasterxml.jackson.databind.JsonNode alignment = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(results).path("alignment");
        for (String name : List.of("gold_start", "gold_end", "rm_accuracy", "final_kl")) {
            assertTrue(alignment.path(name).isNumber(), "alignment." + name + " in " + results);
        }
        assertEquals(2, alignment.path("gold_delta_ci").size(), results);
        assertTrue(alignment.path("gold_delta_ci").get(0).asDouble() <= alignment.path("gold_delta_ci").get(1)
                .asDouble(), results);
        String html = Files.readString(dir.resolve("run").resolve(ReportWriter.REPORT_FILE));
        assertTrue(html.substring(html.indexOf("<body>") + 6).strip().startsWith("<section id=\"headline\""),
                html.substring(0, Math.min(html.length(), 2000)));

        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir.resolve("kafka"), 0, Map.of())) {
            KafkaSettings kafka = KafkaSettings.embedded(broker.bootstrapServers(), "");
            for (Topic<?, ?> topic : DemoStages.TOPICS_WRITTEN) {
                assertTrue(records(kafka, kafka.topic(topic)) > 0, "records on " + topic.baseName());
            }
            assertTrue(records(kafka, kafka.topic(Topics.FEEDBACK)) >= DemoProfile.quick().preferences());
            // v0 (the soup) plus one checkpoint per step; one manifest and one metrics record per step
            assertTrue(records(kafka, kafka.topic(Topics.POLICY)) >= 1 + DemoProfile.quick().ppoSteps());
            assertEquals(DemoProfile.quick().ppoSteps(), records(kafka, kafka.topic(Topics.LEARNER_BATCHES)));
            assertEquals(DemoProfile.quick().ppoSteps(), records(kafka, kafka.topic(Topics.METRICS)));
        }

        printed.reset();
        assertEquals(0, DemoCommand.run(dir, DemoProfile.quick(), false, out));
        String again = printed.toString(StandardCharsets.UTF_8);
        assertTrue(again.contains("pretrain: finished in an earlier run, skipped"), again);
        assertTrue(again.contains("reward-model: finished in an earlier run, skipped"), again);
        assertTrue(again.contains("salsa-loop: finished in an earlier run, skipped"), again);
    }

    /** The value of {@code key} in results.json's facts (a flat JSON string field). */
    private static String fact(String json, String key) throws Exception {
        com.fasterxml.jackson.databind.JsonNode node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        com.fasterxml.jackson.databind.JsonNode v = node.findValue(key);
        return v == null ? "" : v.asText();
    }

    private static long records(KafkaSettings kafka, String topic) {
        return KafkaLog.endOffsetSum(kafka, topic);
    }
}
