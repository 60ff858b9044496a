package io.salsa.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SerdeBenchCommandTest {

    @Test
    void shouldPrintMeanAndSpreadForEachDirection() throws Exception {
        SerdeBenchCommand bench = new SerdeBenchCommand();
        new CommandLine(bench).parseArgs("--tokens", "16", "--records", "50", "--warmup", "1", "--iterations", "2");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bench.run(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(out.startsWith("Rollout with 16 response tokens: "), out);
        for (String line : new String[] {"serialize ", "deserialize ", "round trip (serialize + deserialize)"}) {
            assertTrue(out.lines().anyMatch(l -> l.startsWith(line) && l.contains(" ± ")
                    && l.contains("records/s (mean ± sd of 2)")), line + " missing in:\n" + out);
        }
        assertEquals(3, out.lines().filter(l -> l.startsWith("  iteration") || l.startsWith("  warm-up")).count(), out);
    }

    @Test
    void shouldRefuseBadSettingsWithExitCode2() {
        assertEquals(2, new CommandLine(new SerdeBenchCommand()).execute("--tokens", "0"));
        assertEquals(2, new CommandLine(new SerdeBenchCommand()).execute("--iterations", "1"));
    }

    @Test
    void shouldBuildARolloutOfTheRequestedLength() {
        var r = SerdeBenchCommand.rollout(256);
        assertEquals(256, r.getResponseTokenIds().size());
        assertEquals(256, r.getBehaviourLogProbs().size());
    }
}
