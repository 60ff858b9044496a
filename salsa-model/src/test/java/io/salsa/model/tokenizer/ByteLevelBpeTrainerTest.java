package io.salsa.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ByteLevelBpeTrainerTest {

    private static final List<String> CORPUS = List.of(
            "the zorbit is red.", "the zorbit eats berries.", "the velmor is red.", "what colour is the zorbit?",
            "the zorbit lives in the forest.", "café and naïve words\nwith a newline");

    @TempDir
    Path dir;

    @Test
    void shouldTrainDeterministicallyWithinTheVocabularyLimit() throws IOException {
        ByteLevelBpeTrainer trainer = new ByteLevelBpeTrainer(300, 2, List.of("<|endoftext|>", "<pad>"));
        String a = trainer.train(CORPUS);
        assertEquals(a, trainer.train(CORPUS));
        JsonNode root = new ObjectMapper().readTree(a);
        JsonNode vocab = root.at("/model/vocab");
        assertTrue(vocab.size() <= 300);
        assertEquals(0, vocab.get("<|endoftext|>").asInt());
        assertEquals(1, vocab.get("<pad>").asInt());
        assertEquals(2, vocab.get("!").asInt(), "bytes follow the special tokens in character order, as HF does");
        assertTrue(vocab.has("Ġzorbit"), "a frequent word becomes one token");
        assertEquals(vocab.size() - 258, root.at("/model/merges").size());
    }

    @Test
    void shouldLoadThroughSalsaTokenizerAndRoundTripAnyText() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, new ByteLevelBpeTrainer(1000, 2, List.of("<|endoftext|>", "<pad>")).train(CORPUS));
        try (SalsaTokenizer tok = SalsaTokenizer.load(file)) {
            assertEquals(0, tok.eosId());
            assertEquals(1, tok.padId());
            int zorbit = tok.tokenId("Ġzorbit").orElseThrow();
            assertArrayEquals(new int[] {tok.tokenId("the").orElseThrow(), zorbit}, tok.encode("the zorbit"));
            for (String s : List.of("the zorbit is red.", "unseen words 😀 日本語\n\ttabs", "")) {
                assertEquals(s, tok.decode(tok.encode(s)));
            }
        }
    }

    @Test
    void shouldRefuseAVocabularySmallerThanTheByteAlphabet() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ByteLevelBpeTrainer(100, 2, List.of("<|endoftext|>")));
        assertTrue(e.getMessage().contains("vocabLimit must be at least 257"), e.getMessage());
    }
}
