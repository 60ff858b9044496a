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
    void shouldRunPpoStepsOfALlamaFamilyFolderThroughTheLearnerService(@TempDir Path dir) throws Exception {
        ModelBenchCommandTest.tinyQwen2(dir.resolve("model"));
        StdOut.Run run = StdOut.capture(() -> new CommandLine(new LearnerBenchCommand()).execute("--model",
                dir.resolve("model").toString(), "--batch", "2", "--query-len", "4", "--response-len", "4",
                "--warmup", "0", "--steps", "2"));

        assertEquals(0, run.exitCode(), run.out());
        List<String> lines = run.out().lines().toList();
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("model " + dir.resolve("model")
                + " (qwen2, 1 layers, 32 wide, vocab 50), batch 2 x (4 + 4) tokens")), run.out());
        assertTrue(lines.stream().anyMatch(l -> l.matches("step 1: [0-9.]+ s wall, [0-9.]+ s in the PPO step")), run.out());
        assertTrue(lines.stream().anyMatch(l -> l.matches("step 2: [0-9.]+ s wall, [0-9.]+ s in the PPO step")), run.out());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("learner: ") && l.contains("tokens/s in the PPO step")),
                run.out());
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
