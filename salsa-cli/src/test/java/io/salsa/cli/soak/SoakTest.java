package io.salsa.cli.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CI's short {@code salsa soak} and chaos run in one start of the stack: every service is its own process, sampled
 * throughout, none dies on its own; the learner, one generator and the scorer are killed with SIGKILL and restarted
 * and the broker is restarted once, and still every verdict counted from the topics holds, replay included. The
 * full schedule (every service) is {@link ChaosTest}'s.
 */
class SoakTest {

    static final List<String> SERVICES = List.of("broker", "soup-builder", "reward-scorer", "generator-1",
            "generator-2", "learner", "ingest");
    static final List<String> KILLED = List.of("reward-scorer", "generator-2", "learner");

    @Test
    void shouldSampleEveryServiceAndKeepEveryGuaranteeThroughKillsAndABrokerRestart(@TempDir Path dir)
            throws Exception {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        Path out = dir.resolve("soak");
        SoakRun.Result result = new SoakRun(new SoakRun.Options(1.5, true, out, 7, 5, 500, 10, 5, KILLED),
                new PrintStream(printed, true, StandardCharsets.UTF_8)).run();
        String log = printed.toString(StandardCharsets.UTF_8);

        assertTrue(result.verdicts() != null, log);
        assertEquals(5, result.verdicts().verdicts().size(), log);
        for (ChaosVerdicts.Verdict v : result.verdicts().verdicts()) {
            assertTrue(v.holds(), v.name() + ": " + v.detail() + "\n" + log);
        }
        assertTrue(result.ok(), log);
        assertTrue(Files.readString(out.resolve("chaos.json")).contains("\"all_hold\" : true"));
        List<String> lines = Files.readAllLines(out.resolve("soak.csv"));
        assertEquals(SoakSeries.HEADER, lines.get(0));
        Map<String, List<String[]>> byService = lines.stream().skip(1).map(l -> l.split(","))
                .collect(Collectors.groupingBy(f -> f[1]));
        for (String service : SERVICES) {
            List<String[]> rows = byService.get(service);
            assertTrue(rows != null, "samples of " + service + "\n" + log);
            for (String metric : List.of("rss_mb", "heap_used_mb", "open_files", "threads")) {
                List<Double> values = rows.stream().filter(f -> f[2].equals(metric))
                        .map(f -> Double.parseDouble(f[3])).toList();
                assertTrue(values.size() >= 5, service + " " + metric + " sampled " + values.size() + " times");
                assertTrue(values.stream().allMatch(v -> v > 0), service + " " + metric + " " + values);
            }
            // started once, or once more for each chaos event; a service left alone is up at every sample
            boolean restarted = KILLED.contains(service) || service.equals(SoakRun.BROKER);
            assertEquals(restarted ? 2 : 1, lastValue(rows, "starts"), service + " starts\n" + log);
            if (!restarted) {
                assertTrue(rows.stream().filter(f -> f[2].equals("alive")).allMatch(f -> f[3].equals("1")),
                        service + " was down at a sample\n" + log);
            }
        }
        assertTrue(byService.get(Sampler.DISK).stream().anyMatch(f -> f[2].equals("disk_mb")
                && Double.parseDouble(f[3]) > 0), "disk sampled");
        assertTrue(lastValue(byService.get(Sampler.LOOP), "rollouts") > 0, "the generators produced\n" + log);
        assertTrue(lastValue(byService.get(Sampler.LOOP), "preferences") > 0, "the raters answered\n" + log);
        for (SoakSummary.ServiceRow row : result.summary().rows()) {
            assertEquals(0, row.unexpectedExits(), row.service());
        }
        for (String file : List.of("summary.json", "soak.html", "soak-rss.svg", "soak-heap.svg")) {
            assertTrue(Files.size(out.resolve(file)) > 0, file);
        }
    }

    private static double lastValue(List<String[]> rows, String metric) {
        return rows.stream().filter(f -> f[2].equals(metric)).mapToDouble(f -> Double.parseDouble(f[3])).max()
                .orElse(0);
    }
}
