package io.salsa.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class IngestCommandTest {

    private static String[] run(String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            int rc = new CommandLine(new IngestCommand()).execute(args);
            return new String[] {Integer.toString(rc), buf.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setErr(err);
        }
    }

    @Test
    void shouldExitWith2AndNameTheSettingOnBadInput() {
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
