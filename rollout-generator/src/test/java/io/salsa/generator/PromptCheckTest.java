package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.ChatTurn;
import io.salsa.events.Prompt;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class PromptCheckTest {

    private static final Function<String, int[]> WORDS = text -> text.chars().filter(ch -> ch != ' ')
            .map(ch -> ch % 50).toArray();

    private static Prompt prompt(String id, String text, List<Integer> ids) {
        return Prompt.newBuilder().setPromptId(id).setText(text).setTokenIds(ids).setCreatedAtMs(0).build();
    }

    private static String code(PromptCheck.Result r) {
        return assertInstanceOf(PromptCheck.Invalid.class, r).code();
    }

    @Test
    void shouldPreferGivenTokenIdsAndEncodeTextOtherwise() {
        PromptCheck.Result given = PromptCheck.check(prompt("a", "ignored", List.of(3, 4)), 4, 16, 50, WORDS);
        assertArrayEquals(new int[] {3, 4}, assertInstanceOf(PromptCheck.Ok.class, given).ids());
        PromptCheck.Result encoded = PromptCheck.check(prompt("b", "ab", List.of()), 4, 16, 50, WORDS);
        assertEquals(2, assertInstanceOf(PromptCheck.Ok.class, encoded).ids().length);
    }

    @Test
    void shouldRefuseUnusablePromptsWithAReason() {
        assertEquals("empty-prompt", code(PromptCheck.check(prompt("a", " ", List.of()), 4, 16, 50, WORDS)));
        assertEquals("empty-prompt-id", code(PromptCheck.check(prompt("", "x", List.of()), 4, 16, 50, WORDS)));
        assertEquals("no-tokenizer", code(PromptCheck.check(prompt("a", "x", List.of()), 4, 16, 50, t -> null)));
        assertEquals("empty-prompt", code(PromptCheck.check(prompt("a", "x", List.of()), 4, 16, 50, t -> new int[0])));
        assertEquals("token-out-of-vocabulary",
                code(PromptCheck.check(prompt("a", "", List.of(1, 50)), 4, 16, 50, WORDS)));
        assertEquals("token-out-of-vocabulary",
                code(PromptCheck.check(prompt("a", "", List.of(-1)), 4, 16, 50, WORDS)));
        assertEquals("prompt-too-long",
                code(PromptCheck.check(prompt("a", "", List.of(1, 2, 3, 4, 5)), 12, 16, 50, WORDS)));
        assertInstanceOf(PromptCheck.Ok.class,
                PromptCheck.check(prompt("a", "", List.of(1, 2, 3, 4)), 12, 16, 50, WORDS), "exactly fits");
    }

    @Test
    void shouldRenderAConversationWithTheChatTemplateAndFallBackToTextWithoutOne() {
        Prompt chat = Prompt.newBuilder().setPromptId("c").setText("ab").setCreatedAtMs(0)
                .setMessages(List.of(new ChatTurn("system", "s"), new ChatTurn("user", "hello"))).build();
        Function<List<RolloutSampler.Turn>, int[]> template = turns -> turns.stream()
                .flatMapToInt(t -> java.util.stream.IntStream.of(t.role().length(), t.content().length())).toArray();
        assertArrayEquals(new int[] {6, 1, 4, 5},
                assertInstanceOf(PromptCheck.Ok.class, PromptCheck.check(chat, 4, 16, 50, WORDS, template)).ids());
        // no chat template: the text, as before
        assertArrayEquals(WORDS.apply("ab"),
                assertInstanceOf(PromptCheck.Ok.class, PromptCheck.check(chat, 4, 16, 50, WORDS, t -> null)).ids());
        // given token ids still win
        Prompt tokenised = Prompt.newBuilder(chat).setTokenIds(List.of(7)).build();
        assertArrayEquals(new int[] {7},
                assertInstanceOf(PromptCheck.Ok.class, PromptCheck.check(tokenised, 4, 16, 50, WORDS, template)).ids());
        // a conversation the template refuses goes to the dead letters with the template's reason
        PromptCheck.Invalid refused = assertInstanceOf(PromptCheck.Invalid.class, PromptCheck.check(chat, 4, 16, 50,
                WORDS, t -> {
                    throw new IllegalArgumentException("message 1 has role \"robot\"");
                }));
        assertEquals("chat-template", refused.code());
        assertTrue(refused.message().contains("robot") && refused.message().contains("prompt c"), refused.message());
    }
}
