package io.salsa.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

class SalsaCommandTest {

    @Command(name = "train")
    static final class GroupedCommand extends SalsaCommand {
        @Option(names = "--epochs", defaultValue = "1")
        int epochs;

        GroupedCommand() {
            super("rm", "Reward models.");
        }

        @Override
        public Integer call() {
            return epochs < 1 ? refuse("--epochs must be >= 1, got " + epochs) : 0;
        }
    }

    @Command(name = "pretrain")
    static final class TopLevelCommand extends SalsaCommand {
        Exception failure;

        @Override
        public Integer call() {
            return refuse(failure);
        }
    }

    @Test
    void shouldNameItsGroupAndItsCommand() {
        GroupedCommand grouped = new GroupedCommand();
        assertEquals("rm", grouped.group());
        assertEquals("Reward models.", grouped.groupDescription());
        assertEquals("salsa rm train", grouped.commandLine());
        TopLevelCommand top = new TopLevelCommand();
        assertNull(top.group());
        assertEquals("", top.groupDescription());
        assertEquals("salsa pretrain", top.commandLine());
    }

    @Test
    void shouldRefuseBadInputWithExitTwoAndTheCommandOnStderr() {
        String err = stderrOf(() -> assertEquals(2, new CommandLine(new GroupedCommand()).execute("--epochs", "0")));
        assertEquals("salsa rm train: --epochs must be >= 1, got 0", err.strip());
        assertEquals("", stderrOf(() -> assertEquals(0, new CommandLine(new GroupedCommand()).execute())));
    }

    @Test
    void shouldNameAMissingFileAsSuch() {
        TopLevelCommand cmd = new TopLevelCommand();
        cmd.failure = new NoSuchFileException("/data/corpus.txt");
        String err = stderrOf(() -> assertEquals(2, cmd.call()));
        assertEquals("salsa pretrain: no such file: /data/corpus.txt", err.strip());
        assertEquals("java.lang.IllegalStateException", SalsaCommand.message(new IllegalStateException()));
        assertEquals("bad --lr", SalsaCommand.message(new IllegalArgumentException("bad --lr")));
    }

    private static String stderrOf(Runnable r) {
        PrintStream before = System.err;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            r.run();
        } finally {
            System.setErr(before);
        }
        return buffer.toString(StandardCharsets.UTF_8);
    }
}
