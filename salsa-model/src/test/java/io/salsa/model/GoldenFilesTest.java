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

    /** Every file LlamaGoldenTest opens per family. */
    private static final List<String> LLAMA_FILES = List.of("config.json", "model.safetensors", "input_ids.npy",
            "attention_mask.npy", "position_ids.npy", "logits.npy", "hidden_states.npy", "token_logprobs.npy",
            "token_mask.npy", "grad_embed.npy", "grad_q_proj0.npy", "greedy_ids.npy", "greedy_step_logits.npy",
            "input_ids_left.npy", "attention_mask_left.npy", "position_ids_left.npy", "logits_left.npy");

    @Test
    void shouldFindEveryFileTheGoldenTestsOpen() throws IOException {
        assertTrue(GoldenFiles.find().isPresent(), "golden data is part of the repository");
        for (String model : List.of("tiny", "small")) {
            for (String file : MODEL_FILES) {
                assertNonEmpty(GoldenFiles.require(model + "/" + file));
            }
        }
        for (String family : List.of("llama", "qwen2", "mistral", "gemma")) {
            for (String file : LLAMA_FILES) {
                assertNonEmpty(GoldenFiles.require(family + "/" + file));
            }
        }
        for (String file : List.of("config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors", "logits_bf16_weights_fp32_compute.npy")) {
            assertNonEmpty(GoldenFiles.require("llama/bf16-sharded/" + file));
            assertNonEmpty(GoldenFiles.require("qwen2/bf16-sharded/" + file));
        }
        assertNonEmpty(GoldenFiles.require("llama/config_v4_style.json"));
        assertNonEmpty(GoldenFiles.require("qwen2/grad_q_proj0_bias.npy"));
        for (String file : List.of("config.json", "model.safetensors", "input_ids.npy", "attention_mask.npy",
                "input_ids_left.npy", "attention_mask_left.npy", "rewards.npy", "values.npy")) {
            assertNonEmpty(GoldenFiles.require("llama-reward/" + file));
        }
        for (String file : List.of("adapter_config.json", "adapter_model.safetensors", "input_ids.npy",
                "attention_mask.npy", "position_ids.npy", "logits_adapter.npy", "logits_merged.npy", "logits_disabled.npy",
                "token_logprobs_adapter.npy", "grad_lora_A_q_proj0.npy", "grad_lora_B_q_proj0.npy")) {
            assertNonEmpty(GoldenFiles.require("llama-lora/" + file));
        }
        assertNonEmpty(GoldenFiles.require("summary_llm.json"));
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
