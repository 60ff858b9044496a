package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PromptFileTest {

    @TempDir
    Path dir;

    @Test
    void shouldReadBothLineFormsAndSkipBlankLines() throws Exception {
        Path f = Files.writeString(dir.resolve("p.jsonl"), """
                {"prompt": "What colour is the sky?"}

                {"id": "q2", "prompt": "Name a fruit.", "split": "eval", "metadata": {"entity": "fruit"}}
                {"id": 17, "prompt": "Count to three."}
                """);
        List<PromptFile.Entry> entries = PromptFile.read(f);
        assertEquals(3, entries.size());
        assertTrue(entries.get(0).id().startsWith("p-"));
        assertEquals(entries.get(0).id(), PromptFile.read(f).get(0).id(), "a derived id is stable");
        assertEquals("q2", entries.get(1).id());
        assertEquals("eval", entries.get(1).split());
        assertEquals("fruit", entries.get(1).metadata().get("entity"));
        assertEquals("17", entries.get(2).id());
    }

    @Test
    void shouldNameTheLineOfABadEntry() throws Exception {
        Path f = Files.writeString(dir.resolve("bad.jsonl"), """
                {"prompt": "ok"}
                {"prompt": "fine"}
                {"promt": "typo"}
                """);
        PromptFile.BadLineException e = assertThrows(PromptFile.BadLineException.class, () -> PromptFile.read(f));
        assertEquals(3, e.line());
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("\"prompt\""), e.getMessage());
    }

    @Test
    void shouldRefuseBrokenJsonEmptyPromptsAndEmptyFiles() throws Exception {
        Path broken = Files.writeString(dir.resolve("b.jsonl"), "{\"prompt\": \"x\"\n");
        assertEquals(1, assertThrows(PromptFile.BadLineException.class, () -> PromptFile.read(broken)).line());
        Path empty = Files.writeString(dir.resolve("e.jsonl"), "{\"prompt\": \"   \"}\n");
        assertTrue(assertThrows(PromptFile.BadLineException.class, () -> PromptFile.read(empty))
                .getMessage().contains("empty"));
        Path none = Files.writeString(dir.resolve("n.jsonl"), "\n\n");
        assertTrue(assertThrows(PromptFile.BadLineException.class, () -> PromptFile.read(none))
                .getMessage().contains("no prompts"));
        Path array = Files.writeString(dir.resolve("a.jsonl"), "[1, 2]\n");
        assertThrows(PromptFile.BadLineException.class, () -> PromptFile.read(array));
    }

    @Test
    void shouldReadConversationsAndPublishThemAsMessages() throws Exception {
        Path f = Files.writeString(dir.resolve("chat.jsonl"), """
                {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a fruit."}]}
                {"id": "c2", "prompt": "shown text", "messages": [{"role": "user", "content": "Hi"}]}
                {"prompt": "plain"}
                """);
        List<PromptFile.Entry> entries = PromptFile.read(f);
        assertEquals("Name a fruit.", entries.get(0).text(), "without a prompt the text is the last turn");
        assertEquals(List.of(new RolloutSampler.Turn("system", "Be brief."), new RolloutSampler.Turn("user", "Name a fruit.")),
                entries.get(0).messages());
        assertEquals("shown text", entries.get(1).text());
        var event = PromptPublisher.event(entries.get(0), 0, 1L);
        assertEquals("system", event.getMessages().get(0).getRole());
        assertEquals("Name a fruit.", event.getMessages().get(1).getContent());
        assertEquals(null, PromptPublisher.event(entries.get(2), 0, 1L).getMessages(), "a plain prompt has no messages");
        Path bad = Files.writeString(dir.resolve("bad.jsonl"), "{\"messages\": [{\"role\": \"user\"}]}\n");
        PromptFile.BadLineException e = assertThrows(PromptFile.BadLineException.class, () -> PromptFile.read(bad));
        assertTrue(e.getMessage().contains("message 0") && e.getMessage().contains("content"), e.getMessage());
    }

    @Test
    void shouldNameFieldsOutsideThePromptSchemaAndRefuseThemWhenStrict() throws Exception {
        // as the built-in task writes its prompt files: the answer and the reference ride along
        Path f = Files.writeString(dir.resolve("task.jsonl"), """
                {"id": "a", "prompt": "tell me the food of the morquo.", "entity": "morquo", "answer": "honey"}
                {"id": "b", "prompt": "what is boryul famous for?", "entity": "boryul", "metadata": {"kind": "city"}}
                """);
        PromptFile.Contents read = PromptFile.read(f, false);
        assertEquals(2, read.entries().size());
        assertEquals(java.util.Map.of("entity", 2, "answer", 1), read.ignoredFields());
        assertEquals(java.util.Map.of("kind", "city"), read.entries().get(1).metadata(), "metadata is the place for them");
        PromptFile.BadLineException e = assertThrows(PromptFile.BadLineException.class, () -> PromptFile.read(f, true));
        assertEquals(1, e.line());
        assertTrue(e.getMessage().contains("\"entity\"") && e.getMessage().contains("metadata"), e.getMessage());
        assertEquals(java.util.Map.of(), PromptFile.read(Files.writeString(dir.resolve("plain.jsonl"),
                "{\"prompt\": \"hi\", \"split\": \"train\"}\n"), true).ignoredFields());
    }
}
