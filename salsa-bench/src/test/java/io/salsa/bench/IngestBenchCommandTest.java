package io.salsa.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class IngestBenchCommandTest {

    @Test
    void shouldLoadTestTheServiceOnAnInProcessBrokerWhenNoneIsNamed(@TempDir Path dir) throws Exception {
        IngestBenchCommand bench = new IngestBenchCommand();
        bench.env = Map.of(); // no SALSA_KAFKA_BOOTSTRAP: the bench starts its own broker
        Path csv = dir.resolve("ingest.csv");
        StdOut.Run run = StdOut.capture(() -> new CommandLine(bench).execute("--connections", "2", "--seconds", "1",
                "--warmup-seconds", "0", "--prompts", "4", "--per-prompt", "2", "--output", csv.toString()));

        assertEquals(0, run.exitCode(), run.out());
        List<String> lines = run.out().lines().toList();
        assertEquals("starting an in-process Kafka broker ...", lines.get(0));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("result: ") && l.contains(" preferences/s sustained")),
                run.out());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("POST /api/preferences latency: p50 ")), run.out());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("topic audit: ") && l.contains("lost 0, duplicated 0")),
                run.out());
        List<String> rows = Files.readAllLines(csv);
        assertEquals("bench,measurement,value,unit", rows.get(0));
        assertTrue(rows.contains("ingest,lost,0,events"), rows.toString());
        assertTrue(rows.contains("ingest,duplicated,0,events"), rows.toString());
    }

    @Test
    void shouldRefuseOutOfRangeSettingsWithExitCode2() {
        IngestBenchCommand bench = new IngestBenchCommand();
        bench.env = Map.of();
        assertEquals(2, new CommandLine(bench).execute("--seconds", "0"));
        assertEquals(2, new CommandLine(new IngestBenchCommand()).execute("--per-prompt", "1"));
    }
}
