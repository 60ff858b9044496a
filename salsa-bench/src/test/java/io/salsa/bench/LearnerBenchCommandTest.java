package io.salsa.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class LearnerBenchCommandTest {

    @Test
    void shouldRunPpoStepsOfALlamaFamilyFolderThroughTheLearnerServiceLoraThenFullEachWithItsPeakMemory(
            @TempDir Path dir) throws Exception {
        ModelBenchCommandTest.tinyQwen2(dir.resolve("model"));
        Path csv = dir.resolve("learner.csv");
        StdOut.Run run = StdOut.capture(() -> new CommandLine(new LearnerBenchCommand()).execute("--model",
                dir.resolve("model").toString(), "--batch", "2", "--query-len", "4", "--response-len", "4",
                "--warmup", "0", "--steps", "1", "--lora", "r=2,alpha=4,targets=q_proj,v_proj", "--output",
                csv.toString()));

        assertEquals(0, run.exitCode(), run.out());
        List<String> lines = run.out().lines().toList();
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("model " + dir.resolve("model")
                + " (qwen2, 1 layers, 32 wide, vocab 50), batch 2 x (4 + 4) tokens")), run.out());
        assertTrue(lines.stream().anyMatch(l -> l.matches("full step 1: [0-9.]+ s wall, [0-9.]+ s in the PPO step")),
                run.out());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("learner full: ") && l.contains("tokens/s in the PPO step")
                && l.matches(".*peak resident [0-9]+ MB = heap [0-9]+ MB \\+ native [0-9]+ MB.*")), run.out());
        int lora = indexOf(lines, "learner lora: ");
        int full = indexOf(lines, "learner full: ");
        assertTrue(lora >= 0 && full > lora, "LoRA first, then full: " + run.out());
        assertTrue(lines.stream().anyMatch(l -> l.matches("lora step 1: [0-9.]+ s wall, [0-9.]+ s in the PPO step")),
                run.out());
        List<String> rows = java.nio.file.Files.readAllLines(csv);
        assertEquals(3, rows.size(), rows.toString());
        assertTrue(rows.get(1).startsWith("learner,lora,\"r=2,alpha=4.0,targets=q_proj,v_proj,dropout=0.0\","),
                rows.toString());
        assertTrue(rows.get(2).startsWith("learner,full,-,"), rows.toString());
    }

    private static int indexOf(List<String> lines, String prefix) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith(prefix) && lines.get(i).contains("peak resident")) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void shouldRefuseABadLoraSpecNamingTheKeyWithExitCode2() throws Exception {
        StdOut.Run run = StdOut.captureErr(() -> new CommandLine(new LearnerBenchCommand()).execute("--lora",
                "r=0,targets=q_proj"));
        assertEquals(2, run.exitCode());
        assertTrue(run.out().contains("--lora: r must be an integer > 0"), run.out());
    }

    @Test
    void shouldRefuseAnUnknownModelNamingTheChoicesAndAMissingGpuWithExitCode2() throws Exception {
        StdOut.Run run = StdOut.captureErr(() -> new CommandLine(new LearnerBenchCommand()).execute("--model", "gpt-5"));
        assertEquals(2, run.exitCode());
        assertTrue(run.out().contains("--model gpt-5 is neither a model folder nor a named shape (small, gpt2-124m, "
                + "llama-small, llama-2-7b, llama-3.2-1b, qwen2.5-0.5b, qwen2.5-1.5b, qwen2.5-7b)"), run.out());
        // no GPU on a test machine: the same command with --device gpu is refused before any model is built
        assertEquals(2, new CommandLine(new LearnerBenchCommand()).execute("--model", "qwen2.5-7b", "--device", "gpu"));
    }
}
