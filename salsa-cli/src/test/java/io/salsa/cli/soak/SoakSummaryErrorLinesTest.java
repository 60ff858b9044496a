package io.salsa.cli.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the soak counts as an error line in a service's log. */
class SoakSummaryErrorLinesTest {

    @Test
    void shouldCountErrorsWarningsWithExceptionsAndStackTracesButNotInfoEventsThatNameAHandledException(
            @TempDir Path dir) throws Exception {
        Path log = dir.resolve("generator-1.log");
        Files.write(log, List.of(
                // the soak's 1-hour run flagged this one: a handled race, logged at INFO
                "16:57:33 [main] INFO  KafkaTopicSchemaRegistry - registration under dead-letters-value lost a race "
                        + "with another registrant (attempt 1): org.apache.kafka.common.errors."
                        + "InvalidProducerEpochException: Producer attempted to produce with an old epoch.",
                "16:57:34 [main] DEBUG Foo - retrying after java.io.IOException: reset",
                "16:57:35 [main] INFO  GeneratorApp - generated 16 rollouts",
                "16:57:36 [kafka-producer] WARN  Sender - send failed: org.apache.kafka.common.errors.TimeoutException",
                "16:57:37 [main] ERROR GeneratorApp - stopping",
                "java.lang.IllegalStateException: boom",
                "Caused by: java.io.IOException: disk full",
                "\tat io.salsa.X.run(X.java:1)"), StandardCharsets.UTF_8);
        List<String> examples = new ArrayList<>();
        assertEquals(4, SoakSummary.errorLines(log, examples), examples.toString());
        assertEquals(4, examples.size());
    }
}
