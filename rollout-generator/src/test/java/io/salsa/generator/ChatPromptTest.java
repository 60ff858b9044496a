package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.events.ChatTurn;
import io.salsa.events.Prompt;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.tokenizer.SalsaTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Conversation prompts through the real sampler: a tiny GPT-2 folder with a chatml tokenizer and template (copied
 * from the golden {@code chat/chatml}) renders the conversation as transformers does, with the generation prompt.
 */
class ChatPromptTest {

    /** What transformers' apply_chat_template(add_generation_prompt=True) renders for the conversation below. */
    private static final String RENDERED = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            + "<|im_start|>user\nHello! How are you?<|im_end|>\n<|im_start|>assistant\n";

    @TempDir
    Path dir;

    private Path modelWithChatml(boolean withTemplate) throws IOException {
        Path m = dir.resolve(withTemplate ? "chat" : "plain");
        // the chatml tokenizer has 306 tokens: <|endoftext|> 0, <pad> 1, bytes and merges, then the chat markers
        try (GptModel model = GptModel.random(GptConfig.of(2, 2, 32, 306, 96, 0, 1), GptModel.Head.NONE, 5,
                Device.cpu())) {
            model.save(m);
        }
        for (String f : List.of(SalsaTokenizer.TOKENIZER_JSON, SalsaTokenizer.TOKENIZER_CONFIG_JSON)) {
            try (InputStream in = ChatPromptTest.class.getResourceAsStream("/chatml/" + f)) {
                Files.copy(in, m.resolve(f));
            }
        }
        if (!withTemplate) {
            String config = Files.readString(m.resolve(SalsaTokenizer.TOKENIZER_CONFIG_JSON));
            Files.writeString(m.resolve(SalsaTokenizer.TOKENIZER_CONFIG_JSON),
                    config.replaceAll("\"chat_template\": \"(?:[^\"\\\\]|\\\\.)*\",", ""));
        }
        return m;
    }

    @Test
    void shouldRenderAConversationPromptWithTheChatTemplateAndGenerateFromIt() throws IOException {
        Prompt prompt = Prompt.newBuilder().setPromptId("p-1").setText("Hello! How are you?").setCreatedAtMs(0)
                .setMessages(List.of(new ChatTurn("user", "Hello! How are you?"))).build();
        try (ModelRolloutSampler sampler = ModelRolloutSampler.open(modelWithChatml(true), GeneratorConfig.Device.CPU)) {
            int[] expected = sampler.encode(RENDERED);
            int[] ids = assertInstanceOf(PromptCheck.Ok.class, PromptCheck.check(prompt, 8, sampler.maxPositions(),
                    sampler.vocabSize(), sampler::encode, sampler::encodeChat)).ids();
            assertArrayEquals(expected, ids);
            assertEquals(300, ids[0], "<|im_start|> is one added token");
            assertEquals(RENDERED, sampler.decode(ids));
            RolloutSampler.Sample s = sampler.sample(List.of(new RolloutSampler.Request(ids, 7L)),
                    new SamplingParams(1f, 0, 1f, 8)).get(0);
            assertTrue(s.responseIds().length >= 1);

            // a role the template is not given
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> sampler.encodeChat(List.of(new RolloutSampler.Turn("user", "hi"),
                            new RolloutSampler.Turn("narrator", "meanwhile"))));
            assertTrue(e.getMessage().contains("message 1") && e.getMessage().contains("narrator"), e.getMessage());

            // a prompt without messages is encoded from its text exactly as before
            Prompt plain = Prompt.newBuilder(prompt).setMessages(null).build();
            assertArrayEquals(sampler.encode("Hello! How are you?"), assertInstanceOf(PromptCheck.Ok.class,
                    PromptCheck.check(plain, 8, sampler.maxPositions(), sampler.vocabSize(), sampler::encode,
                            sampler::encodeChat)).ids());
        }
    }

    @Test
    void shouldUseTheTextWhenThePolicyHasNoChatTemplate() throws IOException {
        Prompt prompt = Prompt.newBuilder().setPromptId("p-2").setText("Hello").setCreatedAtMs(0)
                .setMessages(List.of(new ChatTurn("user", "Hello! How are you?"))).build();
        try (ModelRolloutSampler sampler = ModelRolloutSampler.open(modelWithChatml(false), GeneratorConfig.Device.CPU)) {
            assertNull(sampler.encodeChat(List.of(new RolloutSampler.Turn("user", "Hello"))));
            assertArrayEquals(sampler.encode("Hello"), assertInstanceOf(PromptCheck.Ok.class,
                    PromptCheck.check(prompt, 8, sampler.maxPositions(), sampler.vocabSize(), sampler::encode,
                            sampler::encodeChat)).ids());
        }
    }
}
