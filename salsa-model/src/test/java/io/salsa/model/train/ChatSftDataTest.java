package io.salsa.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.model.GoldenFiles;
import io.salsa.model.tokenizer.ChatMessage;
import io.salsa.model.tokenizer.ChatTemplate;
import io.salsa.model.tokenizer.SalsaTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SFT on conversations: the loss covers the assistant turns (with the template's end-of-turn text) and nothing else. */
class ChatSftDataTest {

    private static final List<ChatMessage> CONVERSATION = List.of(
            new ChatMessage("system", "You are terse."),
            new ChatMessage("user", "Name a fruit."),
            new ChatMessage("assistant", "A pear."),
            new ChatMessage("user", "Another?"),
            new ChatMessage("assistant", "A fig."));

    @TempDir
    Path dir;

    /** The trained tokens, decoded run by run. */
    private static List<String> trainedRuns(SalsaTokenizer tok, SftData.Sequence s) {
        List<String> runs = new ArrayList<>();
        int start = -1;
        for (int j = 0; j <= s.ids().length; j++) {
            boolean t = j < s.ids().length && s.isTrained(j);
            if (t && start < 0) {
                start = j;
            } else if (!t && start >= 0) {
                runs.add(tok.decode(Arrays.copyOfRange(s.ids(), start, j)));
                start = -1;
            }
        }
        return runs;
    }

    @Test
    void shouldTrainOnTheAssistantTurnsOnlyForChatmlAndLlama3() throws IOException {
        for (String family : List.of("chatml", "llama3")) {
            Path folder = GoldenFiles.require("chat/" + family);
            ChatTemplate template = ChatTemplate.load(folder).orElseThrow();
            try (SalsaTokenizer tok = SalsaTokenizer.load(folder)) {
                SftData.Sequence s = SftData.encodeConversation(tok, template, CONVERSATION, 1024);
                String end = family.equals("chatml") ? "<|im_end|>\n" : "<|eot_id|>";
                assertEquals(List.of("A pear." + end, "A fig." + end), trainedRuns(tok, s), family);
                assertEquals(template.render(CONVERSATION, false), tok.decode(s.ids()), family);

                // the batch's loss mask predicts exactly those tokens
                SftBatch batch = SftBatch.of(List.of(s), tok.padId());
                for (int j = 0; j + 1 < s.ids().length; j++) {
                    assertEquals(s.isTrained(j + 1) ? 1f : 0f, batch.lossMask()[0][j], family + " position " + j);
                }
                // cut before the first assistant token: nothing to learn
                assertNull(SftData.encodeConversation(tok, template, CONVERSATION, s.promptLength()));
            }
        }
    }

    @Test
    void shouldReadConversationLinesAndRefuseWhatCannotBeMasked() throws IOException {
        Path data = Files.writeString(dir.resolve("sft.jsonl"), """
                {"prompt": "2+2=", "response": "4"}
                {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
                """);
        List<SftExample> examples = SftData.read(data);
        assertTrue(examples.get(0).messages().isEmpty());
        assertEquals(List.of(new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello!")),
                examples.get(1).messages());
        Path folder = GoldenFiles.require("chat/chatml");
        try (SalsaTokenizer tok = SalsaTokenizer.load(folder)) {
            ChatTemplate template = ChatTemplate.load(folder).orElseThrow();
            List<SftData.Sequence> seqs = SftData.encodeAll(tok, template, examples, 1024);
            assertEquals(2, seqs.size());
            // a pair keeps today's encoding exactly
            SftData.Sequence pair = SftData.encode(tok, examples.get(0), 1024);
            assertTrue(Arrays.equals(pair.ids(), seqs.get(0).ids()) && pair.promptLength() == seqs.get(0).promptLength());
            // without a template a conversation is refused, not flattened
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SftData.encodeAll(tok, examples, 1024));
            assertTrue(e.getMessage().contains("chat template"), e.getMessage());
            // a template that rewrites earlier turns cannot be masked
            ChatTemplate rewriting = ChatTemplate.of("{% for m in messages %}{{ m.role }}{{ loop.length }}: {{ m.content }}\n"
                    + "{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}", java.util.Map.of(), "rewriting");
            IllegalArgumentException r = assertThrows(IllegalArgumentException.class,
                    () -> SftData.encodeConversation(tok, rewriting, CONVERSATION, 1024));
            assertTrue(r.getMessage().contains("rewriting") && r.getMessage().contains("assistant turn 2"), r.getMessage());
        }
        Path noAssistant = Files.writeString(dir.resolve("bad.jsonl"),
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\n");
        IOException bad = assertThrows(IOException.class, () -> SftData.read(noAssistant));
        assertTrue(bad.getMessage().contains("bad.jsonl:1") && bad.getMessage().contains("assistant"), bad.getMessage());
    }

    @Test
    void shouldFineTuneOnConversationsAndKeepTheTemplateWithTheModel() throws Exception {
        Path base = dir.resolve("base");
        // the golden chat tokenizer has 306 ids; a tiny GPT-2 sized for it
        try (io.salsa.model.lm.GptModel m = io.salsa.model.lm.GptModel.random(
                io.salsa.model.lm.GptConfig.of(2, 2, 32, 306, 160, 0, 1), io.salsa.model.lm.GptModel.Head.NONE, 3,
                ai.djl.Device.cpu())) {
            m.save(base);
        }
        Path chatml = GoldenFiles.require("chat/chatml");
        for (String f : List.of(SalsaTokenizer.TOKENIZER_JSON, SalsaTokenizer.TOKENIZER_CONFIG_JSON)) {
            Files.copy(chatml.resolve(f), base.resolve(f));
        }
        List<String> lines = new ArrayList<>();
        String[] fruits = {"pear", "fig", "plum", "lime"};
        for (int i = 0; i < 16; i++) {
            lines.add("{\"messages\": [{\"role\": \"system\", \"content\": \"Be terse.\"}, "
                    + "{\"role\": \"user\", \"content\": \"Fruit " + i + "?\"}, "
                    + "{\"role\": \"assistant\", \"content\": \"A " + fruits[i % 4] + ".\"}]}");
        }
        Path data = Files.write(dir.resolve("chat.jsonl"), lines);
        SftRun.Request req = new SftRun.Request(data, null, base, null, dir.resolve("out"),
                new SftConfig(2, 5e-3, 4, 2, 8, 1.0, 0.01, 11), ai.djl.Device.cpu());
        SftRun.run(req, s -> { });
        ChatTemplate template = ChatTemplate.load(dir.resolve("out")).orElseThrow();
        assertEquals(ChatTemplate.load(base).orElseThrow().render(CONVERSATION, true), template.render(CONVERSATION, true),
                "the fine-tuned folder keeps the chat template");
        try (SalsaTokenizer tok = SalsaTokenizer.load(base);
             io.salsa.model.lm.GptModel before = io.salsa.model.lm.GptModel.load(base,
                     io.salsa.model.lm.GptModel.Head.NONE, ai.djl.Device.cpu());
             io.salsa.model.lm.GptModel after = io.salsa.model.lm.GptModel.load(dir.resolve("out"),
                     io.salsa.model.lm.GptModel.Head.NONE, ai.djl.Device.cpu())) {
            List<SftData.Sequence> seqs = SftData.encodeAll(tok, template, SftData.read(data), 160);
            double lossBefore = SftTrainer.evalLoss(before, seqs, 8);
            double lossAfter = SftTrainer.evalLoss(after, seqs, 8);
            assertTrue(lossAfter < lossBefore - 0.5, "assistant-turn loss " + lossBefore + " -> " + lossAfter);
        }
    }
}
