package io.salsa.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.GoldenFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SalsaTokenizerTest {

    @TempDir
    Path dir;

    @Test
    void shouldMatchHuggingFaceIdsTokensOffsetsAndDecoding() throws IOException {
        Path json = GoldenFiles.require("tokenizer/tokenizer.json");
        JsonNode cases = new ObjectMapper().readTree(json.resolveSibling("tests.json").toFile());
        assertTrue(cases.size() >= 5);
        try (SalsaTokenizer tok = SalsaTokenizer.load(json)) {
            assertEquals(300, tok.vocabSize());
            assertEquals(0, tok.eosId());
            assertEquals(1, tok.padId());
            for (JsonNode c : cases) {
                String text = c.get("text").asText();
                int[] ids = ints(c.get("ids"));
                List<String> tokens = new ArrayList<>();
                c.get("tokens").forEach(t -> tokens.add(t.asText()));
                int[][] offsets = new int[c.get("offsets").size()][];
                for (int i = 0; i < offsets.length; i++) {
                    offsets[i] = ints(c.get("offsets").get(i));
                }
                assertArrayEquals(ids, tok.encode(text), text);
                TokenizedText t = tok.tokenize(text);
                assertArrayEquals(ids, t.ids(), text);
                assertEquals(tokens, t.tokens(), text);
                assertArrayEquals(offsets, t.offsets(), text);
                assertEquals(c.get("decoded").asText(), tok.decode(ids), text);
            }
        }
    }

    @Test
    void shouldNeitherTruncateNorAddSpecialTokens() throws IOException {
        Path json = GoldenFiles.require("tokenizer/tokenizer.json");
        try (SalsaTokenizer tok = SalsaTokenizer.load(json)) {
            String text = "the lazy dog. ".repeat(300);
            int[] ids = tok.encode(text);
            assertTrue(ids.length > 1000, "DJL's default 512-token truncation must be off, got " + ids.length);
            assertEquals(text, tok.decode(ids));
            assertTrue(ids[0] != tok.eosId() && ids[ids.length - 1] != tok.eosId());
            int[] withEos = {tok.encode("The")[0], tok.eosId()};
            assertEquals("The", tok.decode(withEos, true));
            assertEquals("The<|endoftext|>", tok.decode(withEos, false));
        }
    }

    @Test
    void shouldAddThePostProcessorsSpecialTokensToAPromptAsHuggingFaceDoes() throws IOException {
        Path json = GoldenFiles.require("tokenizer/tokenizer.json");
        try (SalsaTokenizer gpt2Like = SalsaTokenizer.load(json)) {
            // a ByteLevel post-processor (GPT-2's) adds nothing
            assertArrayEquals(gpt2Like.encode("the lazy dog"), gpt2Like.encodeAsPrompt("the lazy dog"));
        }
        // Llama's tokenizer.json: TemplateProcessing puts the BOS before every single sequence
        ObjectMapper om = new ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode root = (com.fasterxml.jackson.databind.node.ObjectNode)
                om.readTree(json.toFile());
        String bos = "<|endoftext|>";
        root.set("post_processor", om.readTree("{\"type\": \"TemplateProcessing\", \"single\": ["
                + "{\"SpecialToken\": {\"id\": \"" + bos + "\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}],"
                + " \"pair\": [{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}],"
                + " \"special_tokens\": {\"" + bos + "\": {\"id\": \"" + bos + "\", \"ids\": [0], \"tokens\": [\"" + bos + "\"]}}}"));
        Path withBos = dir.resolve("llama-style-tokenizer.json");
        om.writeValue(withBos.toFile(), root);
        try (SalsaTokenizer llamaLike = SalsaTokenizer.load(withBos)) {
            int[] plain = llamaLike.encode("the lazy dog");
            int[] prompt = llamaLike.encodeAsPrompt("the lazy dog");
            assertEquals(plain.length + 1, prompt.length);
            assertEquals(0, prompt[0], "the BOS first");
            assertArrayEquals(plain, java.util.Arrays.copyOfRange(prompt, 1, prompt.length));
        }
    }

    @Test
    void shouldSaveToFolderAndLoadBackIdentically() throws IOException {
        Path json = GoldenFiles.require("tokenizer/tokenizer.json");
        Path out = dir.resolve("model");
        try (SalsaTokenizer tok = SalsaTokenizer.load(json)) {
            tok.saveTo(out);
            assertArrayEquals(Files.readAllBytes(json), Files.readAllBytes(out.resolve("tokenizer.json")));
            JsonNode config = new ObjectMapper().readTree(out.resolve("tokenizer_config.json").toFile());
            assertEquals("<|endoftext|>", config.get("eos_token").asText());
            assertEquals("<pad>", config.get("pad_token").asText());
            try (SalsaTokenizer back = SalsaTokenizer.load(out)) {
                String text = "Hello world! It's 2024.";
                assertArrayEquals(tok.encode(text), back.encode(text));
                assertEquals(tok.padId(), back.padId());
            }
        }
    }

    @Test
    void shouldExplainMissingAndMalformedFiles() throws IOException {
        NoSuchFileException missing = assertThrows(NoSuchFileException.class, () -> SalsaTokenizer.load(dir));
        assertTrue(missing.getMessage().contains("tokenizer.json"), missing.getMessage());
        Path bad = dir.resolve("tokenizer.json");
        Files.writeString(bad, "{\"model\": ");
        IOException e = assertThrows(IOException.class, () -> SalsaTokenizer.load(bad));
        assertTrue(e.getMessage().startsWith(bad.toString()) && e.getMessage().contains("not valid JSON"), e.getMessage());
        Files.writeString(bad, "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}, \"unk_token\": \"a\"}}");
        IOException noEos = assertThrows(IOException.class, () -> SalsaTokenizer.load(bad));
        assertTrue(noEos.getMessage().contains("no end-of-text token"), noEos.getMessage());
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
