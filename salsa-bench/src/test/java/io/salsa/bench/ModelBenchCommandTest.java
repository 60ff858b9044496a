package io.salsa.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.llama.LlamaModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

class ModelBenchCommandTest {

    /** A row's peak memory columns: resident, heap and native MB, each a number (native = resident − heap, ≥ 0). */
    private static final String MEMORY = " +[0-9.]+ +[0-9.]+ +[0-9.]+ +\\d+ +\\d+ +\\d+";

    /** A one-layer Qwen2-shaped folder (GQA, q/k/v biases) with random weights: the Llama-family path, in a second. */
    static Path tinyQwen2(Path dir) {
        ObjectNode json = new ObjectMapper().createObjectNode().put("model_type", "qwen2").put("hidden_size", 32)
                .put("intermediate_size", 64).put("num_hidden_layers", 1).put("num_attention_heads", 4)
                .put("num_key_value_heads", 2).put("max_position_embeddings", 32).put("vocab_size", 50)
                .put("eos_token_id", 0).put("pad_token_id", 1);
        try (LlamaModel m = LlamaModel.random(LlamaConfig.fromJson(json), GptModel.Head.NONE, 3, Device.cpu())) {
            m.save(dir);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return dir;
    }

    private static void assertRows(List<String> lines, int first, List<String> names) {
        for (int i = 0; i < names.size(); i++) {
            String line = lines.get(first + i);
            assertTrue(line.startsWith(String.format(Locale.ROOT, "%-34s ", names.get(i))), line);
            assertTrue(line.substring(35).matches(MEMORY), line);
        }
    }

    @Test
    void shouldPrintEveryMeasurementWithItsPeakMemoryAndWriteTheSameRows(@TempDir Path dir) throws Exception {
        GptConfig.of(1, 2, 16, 50, 32, 0, 1).save(dir);
        Path csv = dir.resolve("model.csv");
        StdOut.Run run = StdOut.capture(() -> new CommandLine(new ModelBenchCommand()).execute("--config",
                dir.toString(), "--batch", "2", "--new-tokens", "4", "--prompt-length", "4", "--warmup", "0",
                "--repeats", "1", "--train-steps", "1", "--output", csv.toString()));

        assertEquals(0, run.exitCode(), run.out());
        List<String> lines = run.out().lines().toList();
        assertTrue(lines.get(0).startsWith("GPT-2 1 layers × 16 wide, 2 heads, vocab 50; batch 2, prompt 4, 4 new tokens;"),
                lines.get(0));
        assertTrue(lines.get(0).endsWith("best of 1"), lines.get(0));
        assertEquals(String.format(Locale.ROOT, "%-34s %12s %12s %10s %12s %9s %10s", "measurement", "tokens/s",
                "sequences/s", "seconds", "peak RSS MB", "heap MB", "native MB"), lines.get(1));
        List<String> names = List.of("generate, KV cache (sampling)", "generate, no cache (sampling)",
                "SFT train step (fwd+bwd+AdamW)", "forward only (LM loss)", "reward scoring (score head)",
                "PPO step (policy+value, reference)");
        assertRows(lines, 2, names);
        assertTrue(lines.get(8).matches("peak memory \\(whole run\\): resident \\d+ MB = heap \\d+ MB \\+ native \\d+ MB .*"),
                lines.get(8));
        assertEquals("results written to " + csv, lines.get(9));
        List<String> rows = Files.readAllLines(csv);
        assertEquals(7, rows.size(), rows.toString());
        assertEquals("bench,measurement,tokens/s,sequences/s,seconds,peak RSS MB,heap MB,native MB", rows.get(0));
        assertTrue(rows.get(1).startsWith("model,\"generate, KV cache (sampling)\","), rows.get(1));
        assertTrue(rows.get(6).startsWith("model,\"PPO step (policy+value, reference)\","), rows.get(6));
    }

    @Test
    void shouldRefuseAMissingConfigWithExitCode2(@TempDir Path dir) {
        assertEquals(2, new CommandLine(new ModelBenchCommand()).execute("--config",
                dir.resolve("absent.json").toString()));
        assertEquals(2, new CommandLine(new ModelBenchCommand()).execute("--repeats", "0"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"no", "fp16"})
    void shouldBenchEveryMeasurementOfALlamaFamilyFolder(String precision, @TempDir Path dir) throws Exception {
        tinyQwen2(dir);
        StdOut.Run run = StdOut.capture(() -> new CommandLine(new ModelBenchCommand()).execute("--model",
                dir.toString(), "--batch", "2", "--new-tokens", "4", "--prompt-length", "4", "--warmup", "0",
                "--repeats", "1", "--train-steps", "1", "--precision", precision));

        assertEquals(0, run.exitCode(), run.out());
        List<String> lines = run.out().lines().toList();
        assertTrue(lines.get(0).startsWith("qwen2 " + dir + ": 1 layers × 32 wide, vocab 50,"), lines.get(0));
        assertTrue(lines.get(0).contains(precision.equals("no") ? "precision fp32," : "precision fp16 autocast (SFT step fp32),"),
                lines.get(0));
        List<String> names = List.of("generate, KV cache (sampling)", "SFT train step (fwd+bwd+AdamW)",
                "forward only (LM loss)", "reward scoring (score head)", "PPO step (policy+value, reference)");
        assertRows(lines, 2, names);
        assertTrue(lines.get(7).startsWith("peak memory (whole run): resident "), lines.get(7));
    }

    @Test
    void shouldRefuseAnUnknownModelWithExitCode2NamingTheChoices(@TempDir Path dir) throws Exception {
        StdOut.Run run = StdOut.captureErr(() -> new CommandLine(new ModelBenchCommand()).execute("--model", "gpt-5"));
        assertEquals(2, run.exitCode());
        assertTrue(run.out().contains("--model gpt-5 is neither a model folder nor a named shape (small, gpt2-124m, "
                + "llama-small, llama-2-7b, llama-3.2-1b, qwen2.5-0.5b, qwen2.5-1.5b, qwen2.5-7b)"), run.out());
        StdOut.Run bad = StdOut.captureErr(() -> new CommandLine(new ModelBenchCommand()).execute("--precision", "bf16"));
        assertEquals(2, bad.exitCode());
        assertTrue(bad.out().contains("--precision: expected no or fp16"), bad.out());
        assertEquals(2, new CommandLine(new ModelBenchCommand()).execute("--model", "qwen2.5-0.5b", "--config", dir.toString()));
    }
}
