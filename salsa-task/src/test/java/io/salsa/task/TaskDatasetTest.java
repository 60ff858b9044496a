package io.salsa.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.tokenizer.SalsaTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TaskDatasetTest {

    @TempDir
    Path dir;

    @Test
    void shouldWriteIdenticalFilesForTheSameSeed() throws IOException {
        TaskConfig config = TaskConfig.defaults(11, 18);
        TaskDataset.generate(config).writeTo(dir.resolve("a"));
        TaskDataset.generate(config).writeTo(dir.resolve("b"));
        List<String> files;
        try (Stream<Path> s = Files.list(dir.resolve("a"))) {
            files = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertTrue(files.containsAll(List.of("sft-train.jsonl", "sft-eval.jsonl", "sft-ood.jsonl", "prompts-ood.jsonl",
                "preferences.jsonl", "pretrain.txt", "tokenizer.json", "tokenizer_config.json", "world.json",
                "README.md", "task.json")), files.toString());
        for (String f : files) {
            assertArrayEquals(Files.readAllBytes(dir.resolve("a").resolve(f)), Files.readAllBytes(dir.resolve("b").resolve(f)), f);
        }
        TaskDataset other = TaskDataset.generate(TaskConfig.defaults(12, 18));
        assertNotEquals(TaskDataset.generate(config).sft("train"), other.sft("train"));
    }

    @Test
    void shouldKeepOodCombinationsAndPhrasingsOutOfTraining() {
        TaskDataset data = TaskDataset.generate(TaskConfig.defaults(3, TaskConfig.DEFAULT_ENTITIES));
        List<TaskPrompt> train = data.prompts("train");
        List<TaskPrompt> eval = data.prompts("eval");
        List<TaskPrompt> ood = data.prompts("ood");
        assertFalse(train.isEmpty() || eval.isEmpty() || ood.isEmpty());

        Set<String> trainCombos = train.stream().map(TaskPrompt::combo).collect(Collectors.toSet());
        Set<String> trainTemplates = train.stream().map(p -> p.attribute().key() + ":" + p.template()).collect(Collectors.toSet());
        Set<String> oodCombos = ood.stream().filter(TaskPrompt::oodCombo).map(TaskPrompt::combo).collect(Collectors.toSet());
        assertFalse(oodCombos.isEmpty());
        for (TaskPrompt p : ood) {
            assertTrue(p.oodCombo() || p.oodPhrasing(), p.id());
            assertEquals(p.oodCombo(), !trainCombos.contains(p.combo()), "combo flag of " + p.id());
            assertEquals(p.oodPhrasing(), !trainTemplates.contains(p.attribute().key() + ":" + p.template()),
                    "phrasing flag of " + p.id());
        }
        for (TaskPrompt p : eval) {
            assertFalse(oodCombos.contains(p.combo()), p.id());
        }
        Set<String> trainTexts = train.stream().map(TaskPrompt::text).collect(Collectors.toSet());
        assertTrue(eval.stream().noneMatch(p -> trainTexts.contains(p.text())), "eval texts are not in train");
        assertTrue(ood.stream().noneMatch(p -> trainTexts.contains(p.text())), "ood texts are not in train");
        assertTrue(data.preferences().stream().allMatch(p -> trainTexts.contains(p.prompt())), "pairs use train prompts");
        // every attribute has held-out combinations and held-out phrasings
        for (Attribute a : Attribute.values()) {
            assertTrue(ood.stream().anyMatch(p -> p.attribute() == a && p.oodCombo()), a.key());
            assertTrue(ood.stream().anyMatch(p -> p.attribute() == a && p.oodPhrasing() && !p.oodCombo()), a.key());
        }
        Set<String> ids = new HashSet<>();
        Stream.of(train, eval, ood).flatMap(List::stream).forEach(p -> assertTrue(ids.add(p.id()), "unique id " + p.id()));
    }

    @Test
    void shouldStateEveryFactInThePretrainingCorpusButAskNoQuestions() {
        TaskDataset data = TaskDataset.generate(TaskConfig.defaults(5, 12));
        String corpus = String.join("\n", data.pretrainCorpus());
        for (Entity e : data.world().entities()) {
            for (Attribute a : e.kind().attributes()) {
                assertTrue(corpus.contains(e.answer(a)), e.answer(a));
            }
        }
        assertFalse(corpus.contains("?"));
    }

    @Test
    void shouldGiveSftTheConciseCorrectAnswersTheRaterLikesBest() throws IOException {
        TaskDataset data = TaskDataset.generate(TaskConfig.defaults(9, 12));
        SimulatedRater rater = new SimulatedRater(data.world());
        for (String split : List.of("train", "eval", "ood")) {
            for (TaskDataset.SftExample e : data.sft(split)) {
                assertEquals(1.1, rater.score(e.prompt(), e.response()), 1e-12, e.toString());
            }
        }
        for (TaskDataset.PreferencePair p : data.preferences()) {
            assertEquals(RaterChoice.A, rater.prefer(p.prompt(), p.chosen(), p.rejected()));
        }
        data.writeTo(dir);
        ObjectMapper json = new ObjectMapper();
        List<String> lines = Files.readAllLines(dir.resolve("sft-train.jsonl"));
        assertEquals(data.sft("train").size(), lines.size());
        JsonNode first = json.readTree(lines.get(0));
        assertEquals(Set.of("prompt", "response"), iteratorToSet(first.fieldNames()));
        assertEquals(data.world().entities(), TaskWorld.read(dir.resolve("world.json")).entities());
    }

    @Test
    void shouldWriteATokenizerThatRoundTripsAndKeepsTaskWordsWhole() throws IOException {
        TaskDataset data = TaskDataset.generate(TaskConfig.defaults(1, 12));
        data.writeTo(dir);
        try (SalsaTokenizer tok = SalsaTokenizer.load(dir)) {
            assertEquals(0, tok.eosId());
            assertEquals(1, tok.padId());
            assertTrue(tok.vocabSize() <= 1024 && tok.vocabSize() > 258, "vocab " + tok.vocabSize());
            TaskPrompt p = data.prompts("train").get(0);
            String text = p.text() + "\n" + p.reference();
            assertEquals(text, tok.decode(tok.encode(text)));
            assertTrue(tok.encode(" " + p.answer()).length == 1, "value '" + p.answer() + "' is one token");
            assertEquals("unseen ✓ text", tok.decode(tok.encode("unseen ✓ text")), "byte level: any text round-trips");
        }
    }

    @Test
    void shouldRefuseBadSettingsNamingThem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TaskConfig.defaults(1, 3));
        assertTrue(e.getMessage().contains("entities must be in 6..300, got 3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new TaskConfig(1, 12, 0.9, 0.1, 10, 1, 1024));
        assertTrue(e.getMessage().contains("oodComboFraction"), e.getMessage());
    }

    private static Set<String> iteratorToSet(java.util.Iterator<String> it) {
        Set<String> out = new HashSet<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
