package io.salsa.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.testkit.Captured;
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
}
