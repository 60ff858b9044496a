package io.salsa.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class TaskGenerateCommandTest {

    @TempDir
    Path dir;

    @Test
    void shouldGenerateTheTaskIntoAFolder() throws Exception {
        Path out = dir.resolve("task");
        int code = new CommandLine(new TaskGenerateCommand()).execute("--out", out.toString(), "--seed", "3",
                "--entities", "9", "--preference-pairs", "50");
        assertEquals(0, code);
        assertTrue(Files.readString(out.resolve("README.md")).contains("sft-train.jsonl"));
        assertTrue(Files.size(out.resolve("sft-train.jsonl")) > 0);
    }

    @Test
    void shouldExitWithTwoAndNameTheOptionOnBadInput() throws Exception {
        PrintStream original = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = new CommandLine(new TaskGenerateCommand()).execute("--out", dir.toString(), "--entities", "2");
            assertEquals(2, code);
            Path file = Files.writeString(dir.resolve("file"), "x");
            assertEquals(2, new CommandLine(new TaskGenerateCommand()).execute("--out", file.toString()));
        } finally {
            System.setErr(original);
        }
        String message = err.toString(StandardCharsets.UTF_8);
        assertTrue(message.contains("--entities must be in 6..300, got 2"), message);
        assertTrue(message.contains("is a file, not a folder"), message);
    }
}
