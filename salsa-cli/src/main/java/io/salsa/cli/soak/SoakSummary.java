package io.salsa.cli.soak;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;

/**
 * What a soak found, from its samples and logs: per service the RSS, heap and old-generation slopes per hour after
 * warm-up (the first 20 % of the run), open files and threads, restarts and error lines; the data folder's growth;
 * steps/s per window. Written as {@code summary.json}, {@code soak.html} and SVG plots next to {@code soak.csv}.
 */
final class SoakSummary {

    /** The share of the run left out of the slopes: JIT, caches and Kafka's first segments settle in it. */
    static final double WARM_UP = 0.20;
    /** Windows of the steps/s table. */
    static final int WINDOWS = 6;
    private static final Pattern ERROR = Pattern.compile("\\bERROR\\b|Exception\\b|Exception:");
    /**
     * A log event at INFO, DEBUG or TRACE ({@code HH:mm:ss [thread] LEVEL logger - message}, the services' pattern):
     * never an error, even when its message names an exception it handled (a registration that lost a race and was
     * retried, say). WARN and ERROR events and lines outside an event (stack traces, stderr) still count.
     */
    private static final Pattern QUIET_EVENT =
            Pattern.compile("^\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)? \\[[^\\]]*\\] (?:INFO|DEBUG|TRACE)\\b");

    /** One service's row. */
    record ServiceRow(String service, double rssFirstMb, double rssLastMb, double rssMaxMb, double rssSlopeMbPerH,
                      double outsideHeapSlopeMbPerH, double heapSlopeMbPerH, double oldGenSlopeMbPerH, double heapMaxMb, double openFilesMin,
                      double openFilesMax, double threadsMax, int starts, int unexpectedExits, long errorLines,
                      List<String> errorExamples, long samples) {
    }

    private final List<ServiceRow> rows;
    private final Map<String, Object> facts;
    private final List<double[]> stepsPerWindow;
    private final List<String> events;
    private final SoakSeries series;

    private SoakSummary(List<ServiceRow> rows, Map<String, Object> facts, List<double[]> stepsPerWindow,
            List<String> events, SoakSeries series) {
        this.rows = rows;
        this.facts = facts;
        this.stepsPerWindow = stepsPerWindow;
        this.events = events;
        this.series = series;
    }

    List<ServiceRow> rows() {
        return rows;
    }

    Map<String, Object> facts() {
        return facts;
    }

    static SoakSummary of(SoakSeries series, Map<String, ServiceProcess> services, Map<String, Integer> exits,
            List<String> events, long raterErrors, double seconds, SoakRun.Options opt,
            Map<String, Double> recoveries) throws IOException {
        double from = seconds * WARM_UP;
        List<ServiceRow> rows = new ArrayList<>();
        List<String> names = new ArrayList<>(services.keySet());
        names.add(Sampler.DRIVER);
        for (String name : names) {
            ServiceProcess p = services.get(name);
            List<double[]> rss = series.series(name, "rss_mb");
            List<String> examples = new ArrayList<>();
            long errors = p == null ? 0 : errorLines(p.log(), examples);
            rows.add(new ServiceRow(name, first(rss, from), last(rss), max(series.series(name, "rss_mb")),
                    SoakSeries.slopePerHour(rss, from),
                    SoakSeries.slopePerHour(outsideHeap(rss, series.series(name, "heap_committed_mb")), from),
                    SoakSeries.slopePerHour(series.series(name, "heap_used_mb"), from),
                    SoakSeries.slopePerHour(series.series(name, "old_gen_used_mb"), from),
                    max(series.series(name, "heap_used_mb")), min(series.series(name, "open_files")),
                    max(series.series(name, "open_files")), max(series.series(name, "threads")),
                    p == null ? 1 : p.starts(), exits.getOrDefault(name, 0), errors, examples, rss.size()));
        }
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("minutes", opt.minutes());
        facts.put("chaos", opt.chaos());
        facts.put("seed", opt.seed());
        facts.put("sample_seconds", opt.sampleSeconds());
        facts.put("seconds_run", Math.round(seconds));
        facts.put("warm_up_seconds", Math.round(from));
        List<double[]> disk = series.series(Sampler.DISK, "disk_mb");
        facts.put("disk_mb_after_warm_up", round(first(disk, from)));
        facts.put("disk_mb_end", round(last(disk)));
        facts.put("disk_growth_mb_per_hour", round(SoakSeries.slopePerHour(disk, from)));
        for (String part : List.of("kafka", "blobs", "cache", "services")) {
            facts.put("disk_" + part + "_mb_per_hour", round(SoakSeries.slopePerHour(
                    series.series(Sampler.DISK, part + "_mb"), from)));
        }
        for (String m : List.of("learner_steps", "rollout_offsets", "scored_offsets", "preferences",
                "policy_checkpoints", "dead_letters")) {
            facts.put(m, (long) last(series.series(Sampler.LOOP, m)));
        }
        List<double[]> load = series.series(Sampler.MACHINE, "load1");
        facts.put("load1_mean", round(load.stream().mapToDouble(p -> p[1]).average().orElse(Double.NaN)));
        facts.put("load1_max", round(max(load)));
        facts.put("rater_connection_errors", raterErrors);
        facts.put("unexpected_exits", exits);
        if (!recoveries.isEmpty()) {
            Map<String, Long> rounded = new LinkedHashMap<>();
            recoveries.forEach((k, v) -> rounded.put(k, Math.round(v)));
            facts.put("chaos_recovery_seconds", rounded);
        }
        List<double[]> steps = series.series(Sampler.LOOP, "learner_steps");
        List<double[]> windows = new ArrayList<>();
        for (int w = 0; w < WINDOWS; w++) {
            double a = seconds * w / WINDOWS;
            double b = seconds * (w + 1) / WINDOWS;
            double sa = valueAt(steps, a);
            double sb = valueAt(steps, b);
            windows.add(new double[] {a, b, (sb - sa) / (b - a)});
        }
        return new SoakSummary(rows, facts, windows, List.copyOf(events), series);
    }

    /**
     * RSS less the committed heap at the same sample: what the process holds outside the Java heap (metaspace,
     * thread stacks, code, and DJL's native tensors), so a heap that grows to its limit is not taken for a leak.
     */
    static List<double[]> outsideHeap(List<double[]> rss, List<double[]> committed) {
        Map<Double, Double> heapAt = new java.util.HashMap<>();
        committed.forEach(p -> heapAt.put(p[0], p[1]));
        List<double[]> out = new ArrayList<>();
        for (double[] p : rss) {
            Double h = heapAt.get(p[0]);
            if (h != null) {
                out.add(new double[] {p[0], p[1] - h});
            }
        }
        return out;
    }

    /** Console summary. */
    String text() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "soak summary (slopes after the first %.0f %%, per hour):%n",
                WARM_UP * 100));
        b.append(String.format(Locale.ROOT, "  %-14s %8s %8s %10s %10s %10s %10s %7s %7s %6s %6s%n", "service",
                "RSS MB", "max MB", "RSS MB/h", "non-heap/h", "heap MB/h", "old MB/h", "fds", "threads", "starts",
                "errors"));
        for (ServiceRow r : rows) {
            b.append(String.format(Locale.ROOT, "  %-14s %8.0f %8.0f %10.1f %10.1f %10.1f %10.1f %7.0f %7.0f %6d %6d%n",
                    r.service(), r.rssLastMb(), r.rssMaxMb(), r.rssSlopeMbPerH(), r.outsideHeapSlopeMbPerH(),
                    r.heapSlopeMbPerH(),
                    r.oldGenSlopeMbPerH(), r.openFilesMax(), r.threadsMax(), r.starts(), r.errorLines()));
        }
        b.append(String.format(Locale.ROOT, "  disk: %s MB after warm-up -> %s MB at the end (%s MB/h)%n",
                facts.get("disk_mb_after_warm_up"), facts.get("disk_mb_end"), facts.get("disk_growth_mb_per_hour")));
        b.append("  steps/s per window:");
        for (double[] w : stepsPerWindow) {
            b.append(String.format(Locale.ROOT, " %.3f", w[2]));
        }
        b.append(String.format(Locale.ROOT, "%n  totals: %s steps, %s rollouts, %s scored offsets, %s preferences; load "
                        + "mean %s max %s%n", facts.get("learner_steps"), facts.get("rollout_offsets"),
                facts.get("scored_offsets"), facts.get("preferences"), facts.get("load1_mean"),
                facts.get("load1_max")));
        for (String e : events) {
            b.append("  event: ").append(e).append('\n');
        }
        return b.toString();
    }

    /** Writes summary.json, soak-rss.svg, soak-heap.svg, soak-throughput.svg and soak.html into {@code dir}. */
    void write(Path dir, ChaosVerdicts.Verdicts verdicts) throws IOException {
        Map<String, Object> json = new LinkedHashMap<>(facts);
        List<Map<String, Object>> services = new ArrayList<>();
        for (ServiceRow r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("service", r.service());
            m.put("rss_mb_after_warm_up", round(r.rssFirstMb()));
            m.put("rss_mb_end", round(r.rssLastMb()));
            m.put("rss_mb_max", round(r.rssMaxMb()));
            m.put("rss_slope_mb_per_hour", round(r.rssSlopeMbPerH()));
            m.put("rss_outside_heap_slope_mb_per_hour", round(r.outsideHeapSlopeMbPerH()));
            m.put("heap_used_slope_mb_per_hour", round(r.heapSlopeMbPerH()));
            m.put("old_gen_slope_mb_per_hour", round(r.oldGenSlopeMbPerH()));
            m.put("heap_used_mb_max", round(r.heapMaxMb()));
            m.put("open_files_min", r.openFilesMin());
            m.put("open_files_max", r.openFilesMax());
            m.put("threads_max", r.threadsMax());
            m.put("starts", r.starts());
            m.put("unexpected_exits", r.unexpectedExits());
            m.put("error_lines", r.errorLines());
            m.put("error_examples", r.errorExamples());
            m.put("samples", r.samples());
            services.add(m);
        }
        json.put("services", services);
        List<Map<String, Object>> windows = new ArrayList<>();
        for (double[] w : stepsPerWindow) {
            windows.add(Map.of("from_s", Math.round(w[0]), "to_s", Math.round(w[1]), "steps_per_s", round(w[2])));
        }
        json.put("steps_per_second", windows);
        json.put("events", events);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("summary.json").toFile(),
                json);
        if (verdicts != null) {
            verdicts.write(dir.resolve("chaos.json"));
        }
        List<String> procs = rows.stream().map(ServiceRow::service).toList();
        svg(SoakCharts.perService("Resident memory (RSS) per process", "MB", series, procs, "rss_mb"),
                dir.resolve("soak-rss.svg"));
        svg(SoakCharts.perService("Java heap used per process (eden included)", "MB", series, procs,
                "heap_used_mb"), dir.resolve("soak-heap.svg"));
        svg(SoakCharts.perService("Old generation used per process", "MB", series, procs, "old_gen_used_mb"),
                dir.resolve("soak-old-gen.svg"));
        svg(SoakCharts.throughput(series), dir.resolve("soak-throughput.svg"));
        Files.writeString(dir.resolve("soak.html"), html(verdicts), StandardCharsets.UTF_8);
    }

    private String html(ChaosVerdicts.Verdicts verdicts) {
        StringBuilder b = new StringBuilder("<!doctype html><html lang=en><head><meta charset=utf-8>"
                + "<meta name=viewport content=\"width=device-width, initial-scale=1\"><title>salsa soak</title>"
                + "<style>body{font-family:sans-serif;margin:2em;max-width:70em}td,th{padding:2px 8px;"
                + "text-align:right}td:first-child,th:first-child{text-align:left}table{border-collapse:collapse}"
                + "tr:nth-child(even){background:#f4f4f4}pre{white-space:pre-wrap}</style></head><body>"
                + "<h1>salsa soak</h1>");
        b.append("<h2>Facts</h2><table>");
        facts.forEach((k, v) -> b.append("<tr><td>").append(esc(k)).append("</td><td>").append(esc(String.valueOf(v)))
                .append("</td></tr>"));
        b.append("</table><h2>Per process (slopes per hour after the warm-up)</h2><pre>").append(esc(text()))
                .append("</pre>");
        if (verdicts != null) {
            b.append("<h2>Chaos verdicts</h2><pre>").append(esc(verdicts.text())).append("</pre>");
        }
        for (ServiceRow r : rows) {
            if (!r.errorExamples().isEmpty()) {
                b.append("<h3>Error lines in ").append(esc(r.service())).append(" (").append(r.errorLines())
                        .append(")</h3><pre>").append(esc(String.join("\n", r.errorExamples()))).append("</pre>");
            }
        }
        for (String svg : List.of("soak-rss.svg", "soak-heap.svg", "soak-old-gen.svg", "soak-throughput.svg")) {
            b.append("<figure><img src=\"").append(svg).append("\" alt=\"").append(svg).append("\"></figure>");
        }
        return b.append("</body></html>\n").toString();
    }

    /**
     * Lines of a log that name an error or an exception outside an INFO/DEBUG/TRACE event; the first few distinct ones
     * go to {@code examples}.
     */
    static long errorLines(Path log, List<String> examples) throws IOException {
        if (!Files.exists(log)) {
            return 0;
        }
        long n = 0;
        for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
            if (ERROR.matcher(line).find() && !QUIET_EVENT.matcher(line).find()) {
                n++;
                String trimmed = line.length() > 300 ? line.substring(0, 300) + " …" : line;
                if (examples.size() < 8 && !examples.contains(trimmed)) {
                    examples.add(trimmed);
                }
            }
        }
        return n;
    }

    private static void svg(XYChart chart, Path file) throws IOException {
        if (chart == null) {
            return; // nothing sampled (a run that failed in its preparation)
        }
        String name = file.getFileName().toString();
        VectorGraphicsEncoder.saveVectorGraphic(chart, file.getParent().resolve(name.substring(0,
                name.length() - 4)).toString(), VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
    }

    private static double first(List<double[]> pairs, double from) {
        return pairs.stream().filter(p -> p[0] >= from).mapToDouble(p -> p[1]).findFirst().orElse(Double.NaN);
    }

    private static double last(List<double[]> pairs) {
        return pairs.isEmpty() ? Double.NaN : pairs.get(pairs.size() - 1)[1];
    }

    private static double max(List<double[]> pairs) {
        return pairs.stream().mapToDouble(p -> p[1]).max().orElse(Double.NaN);
    }

    private static double min(List<double[]> pairs) {
        return pairs.stream().mapToDouble(p -> p[1]).min().orElse(Double.NaN);
    }

    /** The last value at or before {@code t} (0 before the first sample). */
    private static double valueAt(List<double[]> pairs, double t) {
        double v = 0;
        for (double[] p : pairs) {
            if (p[0] > t) {
                break;
            }
            v = p[1];
        }
        return v;
    }

    private static double round(double v) {
        return Double.isNaN(v) ? Double.NaN : Math.round(v * 1000) / 1000.0;
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
