package io.salsa.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.model.GoldenFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateTest {

    private static final List<ChatMessage> HELLO = List.of(new ChatMessage("user", "Hello"));

    @TempDir
    Path dir;

    private static String render(String template, Map<String, ?> kwargs) {
        return ChatTemplate.of(template, Map.of("eos_token", "</s>"), "test template")
                .render(HELLO.stream().map(ChatMessage::toMap).toList(), false, kwargs);
    }

    @Test
    void shouldCarryTheTemplatesOwnMessageWhenItRaises() {
        ChatTemplate t = ChatTemplate.of("{% for m in messages %}{% if m.role == 'user' and loop.index0 % 2 == 0 %}"
                + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
                + "{% endif %}{% endfor %}", Map.of(), "llama2 template");
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> t.render(HELLO, true));
        assertTrue(e.getMessage().contains("Conversation roles must alternate user/assistant/user/assistant/..."),
                e.getMessage());
        assertTrue(e.getMessage().contains("llama2 template"), e.getMessage());
    }

    @Test
    void shouldNameTheRoleAndTheMessageIndexOfAnUnknownRole() throws IOException {
        ChatTemplate t = ChatTemplate.load(GoldenFiles.require("chat/chatml")).orElseThrow();
        List<ChatMessage> conversation = List.of(new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello"),
                new ChatMessage("robot", "beep"));
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> t.render(conversation, false));
        assertTrue(e.getMessage().contains("message 2") && e.getMessage().contains("\"robot\""), e.getMessage());
        assertTrue(e.getMessage().contains("tokenizer_config.json"), e.getMessage());
        // a template made for more roles can be told so
        assertTrue(t.withRoles(List.of("user", "assistant", "robot")).render(conversation, false)
                .contains("<|im_start|>robot\nbeep<|im_end|>"));
    }

    @Test
    void shouldNameTheFileOfATemplateWithASyntaxError() throws IOException {
        Files.writeString(dir.resolve(ChatTemplate.CHAT_TEMPLATE_JINJA),
                "{% for m in messages %}{{ m.content }}\n{% if add_generation_prompt %}x");
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.load(dir));
        assertTrue(e.getMessage().contains(dir.resolve(ChatTemplate.CHAT_TEMPLATE_JINJA).toString()), e.getMessage());
        assertTrue(e.getMessage().contains("line"), e.getMessage());

        // an error only found when rendering names the file as well
        Files.writeString(dir.resolve(ChatTemplate.CHAT_TEMPLATE_JINJA), "{% if %}x{% endif %}");
        ChatTemplateException onRender = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.load(dir).orElseThrow().render(HELLO, false));
        assertTrue(onRender.getMessage().contains(ChatTemplate.CHAT_TEMPLATE_JINJA), onRender.getMessage());
    }

    @Test
    void shouldReadTheTemplateFromAJinjaFileANamedListOrAString() throws IOException {
        Path chatml = GoldenFiles.require("chat/chatml");
        String config = Files.readString(chatml.resolve(SalsaTokenizer.TOKENIZER_CONFIG_JSON));
        Files.writeString(dir.resolve(SalsaTokenizer.TOKENIZER_CONFIG_JSON), config);
        assertEquals(ChatTemplate.load(chatml).orElseThrow().render(HELLO, true),
                ChatTemplate.load(dir).orElseThrow().render(HELLO, true));

        // transformers 5 writes chat_template.jinja, which wins over tokenizer_config.json
        Files.writeString(dir.resolve(ChatTemplate.CHAT_TEMPLATE_JINJA),
                "{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}\n{% endfor %}\n");
        assertEquals("[user] Hello<|im_end|>\n", ChatTemplate.load(dir).orElseThrow().render(HELLO, false));
        Files.delete(dir.resolve(ChatTemplate.CHAT_TEMPLATE_JINJA));

        // a list of named templates, as some hub repos ship
        Files.writeString(dir.resolve(SalsaTokenizer.TOKENIZER_CONFIG_JSON), """
                {"eos_token": "</s>", "chat_template": [
                  {"name": "default", "template": "{{ messages[0].content }}{{ eos_token }}"},
                  {"name": "tool_use", "template": "tools: {{ tools | length }}"}]}""");
        assertEquals("Hello</s>", ChatTemplate.load(dir).orElseThrow().render(HELLO, false));
        assertEquals("tools: 2", ChatTemplate.load(dir, "tool_use").orElseThrow()
                .render(HELLO.stream().map(ChatMessage::toMap).toList(), false, Map.of("tools", List.of(1, 2))));
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.load(dir, "rag"));
        assertTrue(e.getMessage().contains("rag") && e.getMessage().contains("tool_use"), e.getMessage());

        Files.writeString(dir.resolve(SalsaTokenizer.TOKENIZER_CONFIG_JSON), "{\"eos_token\": \"</s>\"}");
        assertTrue(ChatTemplate.load(dir).isEmpty());
    }

    @Test
    void shouldWriteJsonAsTransformersTojson() {
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("name", "get_weather");
        tool.put("description", "Météo \"now\"\n");
        tool.put("weights", List.of(1.0, 0.5, 1e-5, 1e16, 123456789.125, -2));
        tool.put("flags", Map.of("ok", true));
        tool.put("empty", List.of());
        tool.put("none", null);
        Map<String, Object> kwargs = Map.of("tool", tool);
        assertEquals("{\"name\": \"get_weather\", \"description\": \"Météo \\\"now\\\"\\n\", "
                + "\"weights\": [1.0, 0.5, 1e-05, 1e+16, 123456789.125, -2], \"flags\": {\"ok\": true}, "
                + "\"empty\": [], \"none\": null}", render("{{ tool | tojson }}", kwargs));
        assertEquals("{\n  \"ok\": true\n}", render("{{ tool.flags | tojson(indent=2) }}", kwargs));
        assertEquals("[\n    1.0,\n    0.5\n]", render("{{ tool.weights[:2] | tojson(indent=4) }}", kwargs));
        assertEquals("\"M\\u00e9t\\u00e9o\"", render("{{ 'Météo' | tojson(ensure_ascii=true) }}", kwargs));
        assertEquals("{\"a\": 1, \"b\": 2}", render("{{ {'b': 2, 'a': 1} | tojson(sort_keys=true) }}", kwargs));
    }

    @Test
    void shouldFollowJinja2WhereJinjavaDiffers() {
        Map<String, Object> vars = Map.of("s", "  <think>\nplan\n</think>\n\nanswer  ", "xs", List.of(1, 2, 3, 4));
        // operator precedence: a filter binds tighter than +, and a named argument takes the whole expression
        assertEquals("[x]", render("{{ '[' + ' x ' | trim + ']' }}", vars));
        assertEquals("3", render("{% set ns = namespace(last=xs|length - 1) %}{{ ns.last }}", vars));
        // Python's str methods, not Java's
        assertEquals("yes no", render("{{ 'yes' if s.strip().startswith('<think>') }} "
                + "{{ 'yes' if s.endswith(('a', 'b')) else 'no' }}", vars));
        assertEquals("answer", render("{{ s.split('</think>')[-1].strip() }}", vars));
        assertEquals("plan", render("{{ s.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}", vars));
        assertEquals("a|b|c", render("{{ '|'.join('a.b.c'.split('.')) }}", vars));
        assertEquals("<", render("{{ s.strip()[0] }}", vars));
        // slices with a step
        assertEquals("4321", render("{% for x in xs[::-1] %}{{ x }}{% endfor %}", vars));
        assertEquals("31", render("{% for x in xs[2::-2] %}{{ x }}{% endfor %}", vars));
        assertEquals("cba", render("{{ 'abc'[::-1] }}", vars));
        // escapes in string literals, whitespace control on expressions, one trailing newline dropped
        assertEquals("a\tb\nc", render("{{- 'a\\tb' }}\n   {{- '\\nc' }}\n", vars));
        // lstrip_blocks and trim_blocks
        assertEquals("one\ntwo\n", render("{% if true %}\n    {% if true %}\none\n    {% endif %}\ntwo\n{% endif %}\n\n",
                vars));
        // Python's strip keeps control characters that Java's trim would cut
        assertEquals("\u0001x", render("{{ '\\u0001x ' | trim }}", vars));
    }

    @Test
    void shouldExposeSpecialTokensToolsDocumentsAndExtraVariables() {
        assertEquals("</s>|none|none|no", render(
                "{{ eos_token }}|{{ 'none' if tools is none }}|{{ 'none' if documents is none }}|"
                        + "{{ 'no' if enable_thinking is false }}", Map.of("enable_thinking", false)));
        assertTrue(render("{{ strftime_now('%Y') }}", Map.of()).matches("\\d{4}"));
        String odd = "quote \" apostrophe ' backslash \\ control \u0001 line\u2028sep {{ not a tag }}";
        assertEquals("<" + odd + ">", ChatTemplate.of("<{{ messages[0].content }}>", Map.of(), "t")
                .render(List.of(new ChatMessage("user", odd)), false), "message text passes through verbatim");
    }

    @Test
    void shouldTokenizeRenderedChatWithoutAddingBosOrEos() throws IOException {
        Path llama3 = GoldenFiles.require("chat/llama3");
        try (SalsaTokenizer tok = SalsaTokenizer.load(llama3)) {
            assertEquals(302, tok.bosId().orElseThrow());
            assertEquals(305, tok.eosId());
            String rendered = ChatTemplate.load(llama3).orElseThrow().render(HELLO, true);
            int[] ids = tok.encode(rendered);
            assertEquals(302, ids[0], "the template writes the BOS, once");
            assertEquals(1, java.util.Arrays.stream(ids).filter(i -> i == 302).count());
            assertEquals(304, ids[ids.length - 3]);
            assertArrayEquals(new int[] {303}, new int[] {ids[1]});
        }
    }

    @Test
    void shouldReadBosAndEosIdsFromGenerationConfig() throws IOException {
        Path chatml = GoldenFiles.require("chat/chatml");
        Files.copy(chatml.resolve(SalsaTokenizer.TOKENIZER_JSON), dir.resolve(SalsaTokenizer.TOKENIZER_JSON));
        Files.writeString(dir.resolve(SalsaTokenizer.GENERATION_CONFIG_JSON),
                "{\"bos_token_id\": 302, \"eos_token_id\": [305, 0]}");
        try (SalsaTokenizer tok = SalsaTokenizer.load(dir)) {
            assertEquals(302, tok.bosId().orElseThrow());
            assertEquals(305, tok.eosId(), "no tokenizer_config.json: generation_config's first eos id");
            assertArrayEquals(new int[] {305, 0}, tok.eosIds());
        }
        Files.copy(chatml.resolve(SalsaTokenizer.TOKENIZER_CONFIG_JSON), dir.resolve(SalsaTokenizer.TOKENIZER_CONFIG_JSON));
        Files.writeString(dir.resolve(SalsaTokenizer.GENERATION_CONFIG_JSON), "{\"eos_token_id\": 305}");
        try (SalsaTokenizer tok = SalsaTokenizer.load(dir)) {
            assertEquals(301, tok.eosId(), "tokenizer_config.json's eos_token comes first");
            assertArrayEquals(new int[] {301, 305}, tok.eosIds());
            assertTrue(tok.bosId().isEmpty());
            // the chat template travels with the tokenizer
            Path out = dir.resolve("saved");
            tok.saveTo(out);
            assertEquals(ChatTemplate.load(dir).orElseThrow().render(HELLO, true),
                    ChatTemplate.load(out).orElseThrow().render(HELLO, true));
            assertTrue(Files.isRegularFile(out.resolve(SalsaTokenizer.GENERATION_CONFIG_JSON)));
        }
        Files.writeString(dir.resolve(SalsaTokenizer.GENERATION_CONFIG_JSON), "{\"eos_token_id\": 9999}");
        IOException e = assertThrows(IOException.class, () -> SalsaTokenizer.load(dir));
        assertTrue(e.getMessage().contains(SalsaTokenizer.GENERATION_CONFIG_JSON) && e.getMessage().contains("9999"),
                e.getMessage());
    }
}
