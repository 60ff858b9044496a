package io.salsa.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

/** The golden data travels with the repository, and a golden test without its data fails instead of skipping. */
class GoldenFilesTest {

    /** Every model file a golden test opens (GptGoldenTest, GeneratorTest, GptMixedPrecisionTest, SafeTensorsTest). */
    private static final List<String> MODEL_FILES = List.of("config.json", "model.safetensors", "input_ids.npy",
            "attention_mask.npy", "position_ids.npy", "logits.npy", "hidden_states.npy", "token_logprobs.npy",
            "token_mask.npy", "grad_wte.npy", "grad_c_attn0.npy", "greedy_ids.npy");

    @Test
    void shouldFindEveryFileTheGoldenTestsOpen() throws IOException {
        assertTrue(GoldenFiles.find().isPresent(), "golden data is part of the repository");
        for (String model : List.of("tiny", "small")) {
            for (String file : MODEL_FILES) {
                assertNonEmpty(GoldenFiles.require(model + "/" + file));
            }
        }
        assertNonEmpty(GoldenFiles.require("summary.json"));
        assertNonEmpty(GoldenFiles.require("tokenizer/tokenizer.json"));
        assertNonEmpty(GoldenFiles.require("tokenizer/tests.json"));
    }

    @Test
    void shouldFailNotSkipWhenAGoldenFileIsMissing() {
        AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> GoldenFiles.require("tiny/absent.npy"));
        assertTrue(e.getMessage().contains("absent.npy"), e.getMessage());
    }

    private static void assertNonEmpty(Path p) throws IOException {
        assertTrue(Files.size(p) > 0, p + " is empty");
    }
}
