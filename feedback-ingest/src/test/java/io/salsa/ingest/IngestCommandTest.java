package io.salsa.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.testkit.Captured;
import io.salsa.testkit.Conditions;
import io.salsa.testkit.LateKafka;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
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
            Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx128m", "-cp", System.getProperty("java.class.path"), IngestCommandChild.class.getName(),
                    "--bootstrap", never.bootstrapServers(), "--raters", "a:" + Raters.sha256Hex("t"),
                    "--port", "0").redirectErrorStream(true).start();
            StringBuffer out = new StringBuffer();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        out.append(line).append('\n');
                    }
                } catch (java.io.IOException e) {
                    out.append("[reader: ").append(e).append("]\n");
                }
            });
            reader.start();
            try {
                Conditions.await("salsa ingest logging that it waits for Kafka", wait,
                        () -> out.toString().contains("waiting for Kafka at " + never.bootstrapServers()));
                assertTrue(child.toHandle().destroy(), "SIGTERM sent");
                assertTrue(child.waitFor(wait.toSeconds(), TimeUnit.SECONDS), "exited after SIGTERM:\n" + out);
                reader.join(wait.toMillis());
                String log = out.toString();
                assertTrue(log.contains("feedback-ingest: stop requested"), "the shutdown hook ran:\n" + log);
                assertFalse(log.contains("did not stop within"), log);
                assertFalse(log.contains("Exception"), log);
                assertFalse(log.contains("http://"), "the port never opened:\n" + log);
                assertFalse(never.started());
            } finally {
                child.destroyForcibly();
            }
        }
    }
}
