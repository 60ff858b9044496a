package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.Prompt;
import io.salsa.schemas.Topics;
import io.salsa.testkit.Captured;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@ExtendWith(KafkaExtension.class)
class PromptsLoadIT {

    @TempDir
    Path dir;

    @Test
    void shouldPublishEveryPromptOncePerEpochWithItsEpoch(TestKafka kafka) throws Exception {
        try (GenHarness h = new GenHarness(kafka, "load", dir)) {
            Path file = Files.writeString(dir.resolve("p.jsonl"), """
                    {"id": "x", "prompt": "first", "split": "train"}
                    {"prompt": "second"}
                    """);
            int rc = new CommandLine(new PromptsLoadCommand()).execute(file.toString(), "--epochs", "3",
                    "--bootstrap", kafka.bootstrapServers(), "--topic-prefix", h.settings.topicPrefix());
            assertEquals(0, rc);
            List<Prompt> prompts = h.readAll(Topics.PROMPTS);
            assertEquals(6, prompts.size());
            Map<String, List<Integer>> epochs = prompts.stream().collect(Collectors.groupingBy(Prompt::getPromptId,
                    Collectors.mapping(Prompt::getEpoch, Collectors.toList())));
            assertEquals(2, epochs.size());
            epochs.values().forEach(e -> assertEquals(List.of(0, 1, 2), e.stream().sorted().toList()));
            assertTrue(prompts.stream().anyMatch(p -> p.getPromptId().equals("x") && "train".equals(p.getSplit())));
        }
    }

    @Test
    void shouldRefuseABadFileWithItsLineNumberAndPublishNothing(TestKafka kafka) throws Exception {
        try (GenHarness h = new GenHarness(kafka, "load-bad", dir)) {
            Path file = Files.writeString(dir.resolve("bad.jsonl"), "{\"prompt\": \"ok\"}\n{\"prompt\": 5}\n");
            Captured<Integer> r = Captured.of(() -> new CommandLine(new PromptsLoadCommand()).execute(
                    file.toString(), "--bootstrap", kafka.bootstrapServers(), "--topic-prefix", h.settings.topicPrefix()));
            assertEquals(2, r.value());
            assertTrue(r.err().contains("line 2"), r.err());
            assertEquals(0, h.count(Topics.PROMPTS));
        }
    }

    @Test
    void shouldNameFieldsOutsideTheSchemaAndRefuseThemWithStrict(TestKafka kafka) throws Exception {
        try (GenHarness h = new GenHarness(kafka, "load-extra", dir)) {
            Path file = Files.writeString(dir.resolve("task.jsonl"), """
                    {"id": "a", "prompt": "first", "answer": "honey"}
                    {"id": "b", "prompt": "second", "answer": "carpets", "entity": "boryul"}
                    """);
            Captured<Integer> strict = Captured.of(() -> new CommandLine(new PromptsLoadCommand()).execute(
                    file.toString(), "--strict", "--bootstrap", kafka.bootstrapServers(), "--topic-prefix",
                    h.settings.topicPrefix()));
            assertEquals(2, strict.value());
            assertTrue(strict.err().contains("line 1") && strict.err().contains("\"answer\""), strict.err());
            assertEquals(0, h.count(Topics.PROMPTS), "nothing published from a refused file");
            Captured<Integer> lenient = Captured.of(() -> new CommandLine(new PromptsLoadCommand()).execute(
                    file.toString(), "--bootstrap", kafka.bootstrapServers(), "--topic-prefix",
                    h.settings.topicPrefix()));
            assertEquals(0, lenient.value());
            assertTrue(lenient.err().contains("answer (2 lines), entity (1 line)"), lenient.err());
            assertEquals(2, h.count(Topics.PROMPTS));
        }
    }

    @Test
    void shouldExitWith2NamingAMissingKafkaConfigFile() throws Exception {
        Path file = Files.writeString(dir.resolve("p.jsonl"), "{\"prompt\": \"ok\"}\n");
        Path missing = dir.resolve("no-client.properties");
        Captured<Integer> r = Captured.of(() -> new CommandLine(new PromptsLoadCommand()).execute(file.toString(),
                "--bootstrap", "127.0.0.1:9", "--kafka-config", missing.toString()));
        assertEquals(2, r.value());
        assertTrue(r.err().contains(missing.toString()), r.err());
    }
}
