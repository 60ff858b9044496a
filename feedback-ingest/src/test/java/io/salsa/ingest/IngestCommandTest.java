package io.salsa.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.testkit.Captured;
import io.salsa.testkit.ChildJvm;
import io.salsa.testkit.LateKafka;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class IngestCommandTest {

    /** Exit code and stderr of {@code salsa ingest args}. */
    private static String[] run(String... args) throws Exception {
        Captured<Integer> r = Captured.of(() -> new CommandLine(new IngestCommand()).execute(args));
        return new String[] {Integer.toString(r.value()), r.err().strip()};
    }

    @Test
    void shouldExitWith2AndNameTheSettingOnBadInput() throws Exception {
        String hash = Raters.sha256Hex("t");
        String[] badPort = run("--bootstrap", "127.0.0.1:9092", "--raters", "a:" + hash, "--port", "70000");
        assertEquals("2", badPort[0]);
        assertTrue(badPort[1].contains(IngestConfig.PORT), badPort[1]);

        String[] badRater = run("--bootstrap", "127.0.0.1:9092", "--raters", "alice:not-a-hash");
        assertEquals("2", badRater[0]);
        assertTrue(badRater[1].contains("alice:not-a-hash"), badRater[1]);

        String[] missingFile = run("--bootstrap", "127.0.0.1:9092", "--raters-file", "/no/such/raters.txt");
        assertEquals("2", missingFile[0]);
        assertTrue(missingFile[1].contains("/no/such/raters.txt"), missingFile[1]);

        String[] badBootstrap = run("--bootstrap", "nonsense", "--raters", "a:" + hash);
        assertEquals("2", badBootstrap[0]);
        assertTrue(badBootstrap[1].contains("SALSA_KAFKA_BOOTSTRAP"), badBootstrap[1]);
    }

    /**
     * SIGTERM (or Ctrl-C) while {@code salsa ingest} still waits for its broker goes through the normal stop: the
     * shutdown hook is installed before the wait, so the wait ends and the service closes instead of the JVM dying
     * mid-wait.
     */
    @Test
    void shouldStopCleanlyOnSigtermWhileWaitingForTheBroker() throws Exception {
        Duration wait = Duration.ofSeconds(60);
        try (LateKafka never = LateKafka.reserve()) {
            try (ChildJvm child = ChildJvm.start(IngestCommandChild.class, "--bootstrap", never.bootstrapServers(),
                    "--raters", "a:" + Raters.sha256Hex("t"), "--port", "0")) {
                child.awaitOutput("waiting for Kafka at " + never.bootstrapServers(), wait);
                assertNotNull(child.sigterm(wait), "exited after SIGTERM:\n" + child.output());
                String log = child.output();
                assertTrue(log.contains("feedback-ingest: stop requested"), "the shutdown hook ran:\n" + log);
                assertFalse(log.contains("did not stop within"), log);
                assertFalse(log.contains("Exception"), log);
                assertFalse(log.contains("http://"), "the port never opened:\n" + log);
                assertFalse(never.started());
            }
        }
    }
}
