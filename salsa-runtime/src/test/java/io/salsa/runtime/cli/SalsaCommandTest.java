package io.salsa.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.salsa.testkit.Captured;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
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

    @Command(name = "serve")
    static final class ServiceCommand extends SalsaCommand {
        @Mixin
        KafkaOptions kafka = new KafkaOptions();
        @Option(names = "--batch-size", description = "Per call ($SALSA_DEMO_BATCH_SIZE, default 8).")
        Integer batchSize;
        @Option(names = "--state-dir", description = "State folder ($SALSA_DEMO_STATE_DIR).")
        Path stateDir;
        @Option(names = "--rate-limit", description = "Requests per second.")
        Double rateLimit;
        Map<String, String> env;

        @Override
        public Integer call() {
            env = withOwnOptions(kafka.applyTo(Map.of("SALSA_DEMO_STATE_DIR", "/from/env", "OTHER", "kept")));
            return 0;
        }
    }

    @Test
    void shouldWriteItsOwnFlagsOverTheVariablesTheirDescriptionsName() {
        ServiceCommand cmd = new ServiceCommand();
        assertEquals(0, new CommandLine(cmd).execute("--batch-size", "32", "--rate-limit", "2.5",
                "--bootstrap", "host:9092"));
        assertEquals(Map.of("SALSA_DEMO_BATCH_SIZE", "32", "SALSA_DEMO_STATE_DIR", "/from/env", "SALSA_RATE_LIMIT",
                "2.5", "OTHER", "kept", "SALSA_KAFKA_BOOTSTRAP", "host:9092"), cmd.env,
                "flags win, unset ones leave their variable, a mixin writes its own, an unnamed one gets SALSA_<FLAG>");
        assertEquals(List.of("SALSA_DEMO_BATCH_SIZE", "SALSA_DEMO_STATE_DIR", "SALSA_RATE_LIMIT"),
                List.copyOf(cmd.ownOptionsByVariable().keySet()), "own options only, in declaration order");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new ServiceCommand().call());
        assertEquals("salsa serve was not created by picocli: it has no options", e.getMessage());
    }

    @Test
    void shouldNameItsGroupAndItsCommand() {
        GroupedCommand grouped = new GroupedCommand();
        assertEquals("rm", grouped.group());
        assertEquals("Reward models.", grouped.groupDescription());
        assertEquals("train", grouped.name());
        assertEquals("salsa rm train", grouped.commandLine());
        TopLevelCommand top = new TopLevelCommand();
        assertNull(top.group());
        assertEquals("", top.groupDescription());
        assertEquals("salsa pretrain", top.commandLine());
    }

    @Test
    void shouldRefuseBadInputWithExitTwoAndTheCommandOnStderr() throws Exception {
        Captured<Integer> bad = Captured.of(() -> new CommandLine(new GroupedCommand()).execute("--epochs", "0"));
        assertEquals(2, bad.value());
        assertEquals("salsa rm train: --epochs must be >= 1, got 0", bad.err().strip());
        Captured<Integer> good = Captured.of(() -> new CommandLine(new GroupedCommand()).execute());
        assertEquals(0, good.value());
        assertEquals("", good.err());
    }

    @Test
    void shouldNameAMissingFileAsSuch() throws Exception {
        TopLevelCommand cmd = new TopLevelCommand();
        cmd.failure = new NoSuchFileException("/data/corpus.txt");
        Captured<Integer> refused = Captured.of(cmd::call);
        assertEquals(2, refused.value());
        assertEquals("salsa pretrain: no such file: /data/corpus.txt", refused.err().strip());
        assertEquals("java.lang.IllegalStateException", SalsaCommand.message(new IllegalStateException()));
        assertEquals("bad --lr", SalsaCommand.message(new IllegalArgumentException("bad --lr")));
    }
}
