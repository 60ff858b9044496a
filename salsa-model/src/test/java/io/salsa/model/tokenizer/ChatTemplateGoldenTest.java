package io.salsa.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.GoldenFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Chat templates rendered here against transformers' {@code apply_chat_template} (golden {@code chat/} and
 * {@code qwen3-tokenizer/}): the rendered string exactly, and the ids of that string exactly.
 */
class ChatTemplateGoldenTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldRenderAndTokenizeEveryChatmlAndLlama3CaseAsTransformers() throws IOException {
        Path chat = GoldenFiles.require("chat");
        JsonNode cases = JSON.readTree(chat.resolve("tests.json").toFile());
        Set<String> templates = new HashSet<>();
        int checked = 0;
        for (JsonNode c : cases) {
            String family = c.get("template").asText();
            templates.add(family);
            Path dir = chat.resolve(family);
            ChatTemplate template = ChatTemplate.load(dir).orElseThrow();
            try (SalsaTokenizer tok = SalsaTokenizer.load(dir)) {
                String what = family + "/" + c.get("name").asText() + " add_generation_prompt="
                        + c.get("add_generation_prompt").asBoolean();
                String rendered = template.render(messages(c.get("messages")),
                        c.get("add_generation_prompt").asBoolean(), Map.of());
                assertEquals(c.get("rendered").asText(), rendered, what);
                assertArrayEquals(ints(c.get("ids")), tok.encode(rendered), what);
                checked++;
            }
        }
        assertEquals(cases.size(), checked);
        assertTrue(templates.size() >= 2, "expected cases of several templates, got " + templates);
    }

    @Test
    void shouldRenderTheRealQwen3TemplateWithToolsAndThinkingAsTransformers() throws IOException {
        Path dir = GoldenFiles.require("qwen3-tokenizer");
        JsonNode cases = JSON.readTree(dir.resolve("tests.json").toFile()).get("chat");
        assertTrue(cases.size() > 0);
        ChatTemplate template = ChatTemplate.load(dir).orElseThrow();
        try (SalsaTokenizer tok = SalsaTokenizer.load(dir)) {
            for (JsonNode c : cases) {
                Map<String, Object> kwargs = new LinkedHashMap<>();
                for (Iterator<String> it = c.fieldNames(); it.hasNext(); ) {
                    String key = it.next();
                    if (!List.of("messages", "add_generation_prompt", "rendered", "ids").contains(key)) {
                        kwargs.put(key, c.get(key));
                    }
                }
                String rendered = template.render(messages(c.get("messages")),
                        c.get("add_generation_prompt").asBoolean(), kwargs);
                assertEquals(c.get("rendered").asText(), rendered, c.get("messages").toString() + " " + kwargs);
                assertArrayEquals(ints(c.get("ids")), tok.encode(rendered), c.get("rendered").asText());
            }
        }
    }

    @Test
    void shouldEncodeTheRealQwen3TokenizerAsTransformers() throws IOException {
        Path dir = GoldenFiles.require("qwen3-tokenizer");
        JsonNode cases = JSON.readTree(dir.resolve("tests.json").toFile()).get("texts");
        assertTrue(cases.size() > 0);
        try (SalsaTokenizer tok = SalsaTokenizer.load(dir)) {
            for (JsonNode c : cases) {
                String text = c.get("text").asText();
                TokenizedText t = tok.tokenize(text);
                assertArrayEquals(ints(c.get("ids")), t.ids(), text);
                List<String> tokens = new ArrayList<>();
                c.get("tokens").forEach(x -> tokens.add(x.asText()));
                assertEquals(tokens, t.tokens(), text);
                int[][] offsets = new int[c.get("offsets").size()][];
                for (int i = 0; i < offsets.length; i++) {
                    offsets[i] = ints(c.get("offsets").get(i));
                }
                assertArrayEquals(offsets, t.offsets(), text);
                assertEquals(c.get("decoded").asText(), tok.decode(t.ids()), text);
            }
        }
    }

    static List<Map<String, Object>> messages(JsonNode list) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (JsonNode m : list) {
            Map<String, Object> map = new LinkedHashMap<>();
            m.fields().forEachRemaining(e -> map.put(e.getKey(), e.getValue()));
            out.add(map);
        }
        return out;
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
