package io.salsa.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ReloadBenchCommandTest {

    private static final Pattern SUMMARY = Pattern.compile("reload (lora|full): checkpoint ([0-9,]+) bytes; median "
            + "publish -> switch [0-9.]+ s, publish -> first rollout [0-9.]+ s \\(write\\+announce [0-9.]+ s\\) over 1 "
            + "checkpoints");

    @Test
    void shouldTakeAdapterAndFullCheckpointsThroughTheGeneratorToRolloutsOfTheirVersion(@TempDir Path dir)
            throws Exception {
        ModelBenchCommandTest.tinyQwen2(dir.resolve("model"));
        Path csv = dir.resolve("reload.csv");
        StdOut.Run run = StdOut.capture(() -> new CommandLine(new ReloadBenchCommand()).execute("--model",
                dir.resolve("model").toString(), "--lora", "r=2,alpha=4,targets=q_proj,v_proj", "--batch", "2",
                "--prompt-tokens", "3", "--max-new-tokens", "3", "--warmup", "0", "--versions", "1", "--output",
                csv.toString()));

        assertEquals(0, run.exitCode(), run.out());
        long lora = -1;
        long full = -1;
        for (String line : run.out().lines().toList()) {
            Matcher m = SUMMARY.matcher(line);
            if (m.matches()) {
                long bytes = Long.parseLong(m.group(2).replace(",", ""));
                if (m.group(1).equals("lora")) {
                    lora = bytes;
                } else {
                    full = bytes;
                }
            }
        }
        assertTrue(lora > 0 && full > lora, "an adapter checkpoint is smaller than a full one: " + run.out());
        assertTrue(run.out().contains("lora v1: ") && run.out().contains("full v1: "), run.out());
        List<String> rows = Files.readAllLines(csv);
        assertEquals(3, rows.size(), rows.toString());
        assertTrue(rows.get(1).startsWith("reload,lora,1,") && rows.get(2).startsWith("reload,full,1,"),
                rows.toString());
    }

    @Test
    void shouldRefuseABadLoraSpecWithExitCode2() throws Exception {
        StdOut.Run run = StdOut.captureErr(() -> new CommandLine(new ReloadBenchCommand()).execute("--lora",
                "r=4,alpha=8"));
        assertEquals(2, run.exitCode());
        assertTrue(run.out().contains("--lora: targets is missing"), run.out());
    }
}
