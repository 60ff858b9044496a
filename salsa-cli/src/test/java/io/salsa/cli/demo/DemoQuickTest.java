package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.broker.EmbeddedKafkaBroker;
import io.salsa.schemas.KafkaSettings;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code salsa demo --quick} end to end on its own embedded broker, then a resumed second run. */
class DemoQuickTest {

    @Test
    void shouldRunTheWholeChainThenResumeWithoutRedoingIt(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

        int code = DemoCommand.run(dir, DemoProfile.quick(), false, out);

        String results = DemoRunAssertions.assertFinishedRun(dir, DemoProfile.quick(), code,
                printed.toString(StandardCharsets.UTF_8));
        assertEquals("gpt2", DemoRunAssertions.fact(results, "pretrain.model_type"), results);
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir.resolve("kafka"), 0, Map.of())) {
            DemoRunAssertions.assertRecordsOnEveryTopic(KafkaSettings.embedded(broker.bootstrapServers(), ""),
                    DemoProfile.quick());
        }

        printed.reset();
        assertEquals(0, DemoCommand.run(dir, DemoProfile.quick(), false, out));
        String again = printed.toString(StandardCharsets.UTF_8);
        assertTrue(again.contains("pretrain: finished in an earlier run, skipped"), again);
        assertTrue(again.contains("reward-model: finished in an earlier run, skipped"), again);
        assertTrue(again.contains("salsa-loop: finished in an earlier run, skipped"), again);
    }
}
