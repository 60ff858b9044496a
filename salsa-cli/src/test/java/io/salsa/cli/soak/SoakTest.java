package io.salsa.cli.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
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
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short {@code salsa soak} without chaos: every service is its own process, sampled throughout, and none dies. CI
 * runs what this asserts inside {@link ChaosTest}'s CI-sized run (one start of the stack for the soak and the chaos,
 * {@link #assertSampledThroughout}); this soak-only run needs {@code -Dsalsa.soak=true}.
 */
class SoakTest {

    static final List<String> SERVICES = List.of("broker", "soup-builder", "reward-scorer", "generator-1",
            "generator-2", "learner", "ingest");

    @Test
    @EnabledIfSystemProperty(named = "salsa.soak", matches = "true")
    void shouldSampleEveryServiceProcessAndKeepThemAllAlive(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        Path out = dir.resolve("soak");
        SoakRun.Result result = new SoakRun(new SoakRun.Options(1.5, false, out, 7, 5, 1000),
                new PrintStream(printed, true, StandardCharsets.UTF_8)).run();
        String log = printed.toString(StandardCharsets.UTF_8);

        assertTrue(result.ok(), log);
        assertNull(result.verdicts(), "no chaos, no verdicts");
        assertSampledThroughout(result, out, log, List.of());
        assertFalse(Files.exists(out.resolve("chaos.json")));
    }

    /**
     * Every service sampled at least five times (RSS, heap, open files, threads all positive), alive at every sample
     * and started once, or twice when {@code restarted} names it (a chaos kill or the broker restart, which restart
     * it before the next sample); disk sampled; rollouts and preferences counted; no service exited on its own; the
     * summary, report and plots written.
     */
    static void assertSampledThroughout(SoakRun.Result result, Path out, String log, List<String> restarted)
            throws Exception {
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
            // alive at every sample, started once: no service died and none was restarted
            assertTrue(rows.stream().filter(f -> f[2].equals("alive")).allMatch(f -> f[3].equals("1")),
                    service + " was down at a sample\n" + log);
            String last = restarted.contains(service) ? "2" : "1";
            List<String> starts = rows.stream().filter(f -> f[2].equals("starts")).map(f -> f[3]).toList();
            assertTrue(starts.stream().allMatch(v -> v.equals("1") || v.equals(last)), service + " starts " + starts);
            assertEquals(last, starts.get(starts.size() - 1), service + " starts " + starts);
        }
        assertTrue(byService.get(Sampler.DISK).stream().anyMatch(f -> f[2].equals("disk_mb")
                && Double.parseDouble(f[3]) > 0), "disk sampled");
        assertTrue(lastValue(byService.get(Sampler.LOOP), "rollout_offsets") > 0, "the generators produced\n" + log);
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
