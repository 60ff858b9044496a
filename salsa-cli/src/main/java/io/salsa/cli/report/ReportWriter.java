package io.salsa.cli.report;

import io.salsa.cli.stats.Stats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;

/**
 * Turns a run folder ({@code metrics.jsonl} and optionally {@code results.json}) into {@code report.html} and
 * the plots as PNG files, so that a run can be read in any browser without a server, a CDN or network.
 *
 * <p>The page embeds each PNG as a data URI (the HTML alone is the whole report, even when mailed or moved)
 * and the same PNGs are written to {@code plots/} for slides and notes. It leads with the result (the
 * {@link Headline}: gold score start → end with its interval, reward-model accuracy, final KL, wall time, replay),
 * then the curves, then the tables; the long list of facts comes last, collapsed.
 */
public final class ReportWriter {

    /** The page written into the run folder. */
    public static final String REPORT_FILE = "report.html";
    /** Folder of the PNG plots inside the run folder. */
    public static final String PLOTS_DIR = "plots";

    private static final int MAX_GUARD_ROWS = 200;

    static {
        // charts are drawn off-screen; a service or CI machine has no display
        System.setProperty("java.awt.headless", "true");
    }

    private ReportWriter() {
    }

    /** What a report consists of, for callers that print or check it. */
    public record Written(Path html, List<Path> plots) {
    }

    /**
     * Writes the report of {@code runDir}.
     *
     * @throws IllegalArgumentException when the folder has neither metrics nor results, or one is malformed
     */
    public static Written write(Path runDir) {
        return write(runDir, Map.of());
    }

    /**
     * Writes the report of {@code runDir} with {@code extraCharts} (named as in the captions) before the step plots:
     * the experiment's plots drawn from its evaluations rather than from per-step metrics.
     *
     * @throws IllegalArgumentException when the folder has neither metrics nor results, or one is malformed
     */
    public static Written write(Path runDir, Map<String, XYChart> extraCharts) {
        Path metricsFile = runDir.resolve(MetricsLog.FILE_NAME);
        Path resultsFile = runDir.resolve(RunResults.FILE_NAME);
        boolean hasMetrics = Files.isRegularFile(metricsFile);
        boolean hasResults = Files.isRegularFile(resultsFile);
        if (!hasMetrics && !hasResults) {
            throw new IllegalArgumentException(runDir + " is not a run folder: it has neither "
                    + MetricsLog.FILE_NAME + " nor " + RunResults.FILE_NAME);
        }
        List<StepMetrics> steps = hasMetrics ? MetricsLog.read(metricsFile) : List.of();
        RunResults results = hasResults ? RunResults.read(resultsFile)
                : new RunResults("salsa run " + runDir.toAbsolutePath().getFileName(), Map.of(), List.of());
        return write(runDir, steps, results, extraCharts);
    }

    /** Writes the report of the given steps and results into {@code runDir}. */
    public static Written write(Path runDir, List<StepMetrics> steps, RunResults results) {
        return write(runDir, steps, results, Map.of());
    }

    private static Written write(Path runDir, List<StepMetrics> steps, RunResults results,
                                 Map<String, XYChart> extraCharts) {
        Map<String, List<StepMetrics>> byArm = byArm(steps);
        Map<String, XYChart> charts = new LinkedHashMap<>(extraCharts);
        charts.put("reward", Charts.perStep("Reward vs step", "reward-model score (dashed: score − β·KL)", byArm,
                MetricNames.SCORE, MetricNames.RLHF_REWARD, "rlhf_reward"));
        charts.put("kl", Charts.perStep("KL vs step", "KL(policy || reference)", byArm, MetricNames.KL, null, null));
        charts.put("frontier", Charts.frontier(byArm));
        charts.put("heldout", Charts.perStep("Held-out gold score vs step",
                "simulated rater's score on held-out prompts", byArm, MetricNames.HELDOUT_GOLD, null, null));
        charts.put("length", Charts.perStep("Response length vs step", "mean response length (tokens)", byArm,
                MetricNames.RESPONSE_LENGTH, null, null));
        charts.put("guard", Charts.guardEvents(byArm));

        try {
            Path plotsDir = runDir.resolve(PLOTS_DIR);
            Files.createDirectories(plotsDir);
            List<Path> plots = new ArrayList<>();
            Map<String, byte[]> pngs = new LinkedHashMap<>();
            for (Map.Entry<String, XYChart> e : charts.entrySet()) {
                Path png = plotsDir.resolve(e.getKey() + ".png");
                if (e.getValue() == null) {
                    Files.deleteIfExists(png); // a stale plot from an earlier report would lie
                    continue;
                }
                byte[] bytes = BitmapEncoder.getBitmapBytes(e.getValue(), BitmapEncoder.BitmapFormat.PNG);
                Files.write(png, bytes);
                plots.add(png);
                pngs.put(e.getKey(), bytes);
            }
            Path html = runDir.resolve(REPORT_FILE);
            Files.writeString(html, html(results, byArm, charts, pngs), StandardCharsets.UTF_8);
            return new Written(html, plots);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the report into " + runDir, e);
        }
    }

    static Map<String, List<StepMetrics>> byArm(List<StepMetrics> steps) {
        return steps.stream().sorted(Comparator.comparingLong(StepMetrics::step))
                .collect(Collectors.groupingBy(StepMetrics::arm, TreeMap::new, Collectors.toList()));
    }

    /** One row per arm: the last step of each seed, as mean ± spread over seeds. */
    static ResultsTable trainingSummary(Map<String, List<StepMetrics>> byArm) {
        List<List<String>> rows = new ArrayList<>();
        for (Map.Entry<String, List<StepMetrics>> arm : byArm.entrySet()) {
            Map<Long, StepMetrics> lastPerSeed = new TreeMap<>();
            int guards = 0;
            for (StepMetrics s : arm.getValue()) {
                lastPerSeed.merge(s.seed(), s, (a, b) -> b.step() >= a.step() ? b : a);
                guards += s.guardEvents().size();
            }
            List<StepMetrics> last = List.copyOf(lastPerSeed.values());
            long maxStep = last.stream().mapToLong(StepMetrics::step).max().orElse(0);
            rows.add(List.of(arm.getKey(), String.valueOf(last.size()), String.valueOf(maxStep),
                    finalValue(last, MetricNames.SCORE), finalValue(last, MetricNames.KL),
                    finalValue(last, MetricNames.RLHF_REWARD), finalValue(last, MetricNames.RESPONSE_LENGTH),
                    String.valueOf(guards)));
        }
        return new ResultsTable("Training summary (last step of each seed)",
                List.of("arm", "seeds", "steps", "objective/scores", "objective/kl", "objective/rlhf_reward",
                        "response length", "guard events"),
                rows, List.of("Values are mean ± sample standard deviation over seeds (no ± with one seed)."));
    }

    private static String finalValue(List<StepMetrics> last, List<String> names) {
        double[] v = last.stream().map(s -> s.value(names)).filter(OptionalDouble::isPresent)
                .mapToDouble(OptionalDouble::getAsDouble).toArray();
        return v.length == 0 ? "—" : Stats.spread(v).format(3);
    }

    private static final Map<String, String> CAPTIONS = Map.of(
            "reward", "Mean reward-model score per PPO step (solid), as the scorer served it (the demo's: in standard "
                    + "units of the reward model's running distribution), and the KL-penalised reward PPO maximises "
                    + "(dashed); bars: spread over seeds.",
            "kl", "KL divergence of the policy from its own arm's reference (the soup for SALSA, one SFT model "
                    + "for PPO).",
            "frontier", "Each dot is one step of one seed; the line is the arm's frontier — the best score "
                    + "reached at or below each KL. Higher and further left is better.",
            "heldout", "The simulated rater's (gold) score of the policy's greedy answers to held-out prompts, "
                    + "measured every few steps: the judge the reward model stands in for. Gold falling while the "
                    + "reward rises is the proxy/gold divergence the KL-hack guard watches for.",
            "length", "Mean response length in tokens; a collapse toward 0 is the KL-hack of a too-large β.",
            "guard", "Cumulative KL-hack guard detections (length collapse, negative KL, proxy/gold divergence).",
            "gold-frontier", "Gold reward against KL to the arm's own reference, one point per KL coefficient β of the "
                    + "sweep (the arm's final policies, greedy answers to held-out prompts, pooled over seeds); bars: "
                    + "half-width of the 95 % bootstrap interval of the mean gold. Higher at the same KL is better.",
            "gold-frontier-ood", "The same frontier on the out-of-distribution prompts (held-out "
                    + "entity-attribute combinations and phrasings that no SFT example used).");

    /** A plot's caption; a plot added without one is a bug, not a figure to publish with an empty caption. */
    static String caption(String plot) {
        String caption = CAPTIONS.get(plot);
        if (caption == null || caption.isBlank()) {
            throw new IllegalStateException("the '" + plot + "' plot has no caption in ReportWriter.CAPTIONS");
        }
        return caption;
    }

    private static String html(RunResults results, Map<String, List<StepMetrics>> byArm,
                               Map<String, XYChart> charts, Map<String, byte[]> pngs) {
        StringBuilder h = new StringBuilder(64 * 1024);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                        + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
                .append(esc(results.title())).append("</title>\n<style>\n")
                .append("body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;"
                        + "max-width:1100px;color:#222;padding:0 1rem}\n")
                .append("h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}\n")
                .append("table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ccc;"
                        + "padding:.3rem .6rem;text-align:right}th{background:#f3f3f3}"
                        + "td:first-child,th:first-child{text-align:left}\n")
                .append("figure{margin:1rem 0}figure img{max-width:100%;border:1px solid #eee}"
                        + "figcaption{color:#555;font-size:.9rem}\n")
                .append("dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}"
                        + "dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}\n")
                .append(".note{color:#555;font-size:.9rem}.missing{color:#a33}\n")
                .append("#headline{border:2px solid #2a6;border-radius:6px;padding:.2rem 1rem 1rem;margin-bottom:1.5rem}"
                        + "#headline.unproven{border-color:#c80}.verdict{font-size:1.15rem}"
                        + "#headline table{font-size:1.05rem}\n")
                .append("</style></head><body>\n");
        headline(h, results);
        h.append("<h2>Plots</h2>\n");
        for (Map.Entry<String, XYChart> e : charts.entrySet()) {
            byte[] png = pngs.get(e.getKey());
            if (png == null) {
                h.append("<p class=\"missing\">No data for the ").append(esc(e.getKey()))
                        .append(" plot: the run reported none of its metrics.</p>\n");
                continue;
            }
            h.append("<figure id=\"plot-").append(e.getKey()).append("\"><img alt=\"")
                    .append(esc(e.getValue().getTitle())).append("\" width=\"").append(Charts.WIDTH)
                    .append("\" src=\"data:image/png;base64,").append(Base64.getEncoder().encodeToString(png))
                    .append("\"><figcaption>").append(esc(caption(e.getKey())))
                    .append(" (<a href=\"").append(PLOTS_DIR).append('/').append(e.getKey())
                    .append(".png\">PNG</a>)</figcaption></figure>\n");
        }
        h.append("<h2>Results</h2>\n");
        for (ResultsTable t : results.tables()) {
            table(h, t, "results-table");
        }
        if (!byArm.isEmpty()) {
            table(h, trainingSummary(byArm), "training-summary");
        }
        guardTable(h, byArm);
        if (!results.facts().isEmpty()) {
            h.append("<details id=\"facts\"><summary>All facts of the run (").append(results.facts().size())
                    .append(")</summary>\n<dl>\n");
            results.facts().forEach((k, v) -> h.append("<dt>").append(esc(k)).append("</dt><dd>").append(esc(v))
                    .append("</dd>\n"));
            h.append("</dl></details>\n");
        }
        h.append("<p class=\"note\">Generated ").append(esc(Instant.now().toString()))
                .append(" by <code>salsa report</code>.</p>\n");
        h.append("</body></html>\n");
        return h.toString();
    }

    /** The first thing in the body: the title and, when the run has one, its headline result. */
    private static void headline(StringBuilder h, RunResults results) {
        Headline r = results.headline();
        h.append("<section id=\"headline\"").append(r != null && !r.goldImproved() ? " class=\"unproven\"" : "")
                .append(">\n<h1>").append(esc(results.title())).append("</h1>\n");
        if (r == null) {
            h.append("</section>\n");
            return;
        }
        String verdict = !Double.isFinite(r.goldDeltaLow()) ? "No held-out gold comparison was made."
                : r.goldImproved() ? "The policy got better by the gold judge: the 95 % interval of the change lies "
                        + "above 0."
                : "No measurable gold improvement: the 95 % interval of the change includes 0 or lies below it.";
        h.append("<p class=\"verdict\"><strong>Held-out gold score ").append(Headline.number(r.goldStart(), 3))
                .append(" → ").append(Headline.number(r.goldEnd(), 3)).append("</strong> (Δ ")
                .append(Headline.number(r.goldDelta(), 3)).append(", 95 % CI [")
                .append(Headline.number(r.goldDeltaLow(), 3)).append(", ")
                .append(Headline.number(r.goldDeltaHigh(), 3)).append("]). ").append(esc(verdict)).append("</p>\n");
        List<List<String>> rows = List.of(
                List.of("held-out gold score, start (soup) → end (final policy)", Headline.number(r.goldStart(), 3)
                        + " → " + Headline.number(r.goldEnd(), 3)),
                List.of("change, 95 % paired-bootstrap interval over " + r.goldPrompts() + " held-out prompts"
                        + (r.goldFacts() > 0 ? " (" + r.goldFacts() + " facts resampled)" : ""),
                        Headline.number(r.goldDelta(), 3) + " [" + Headline.number(r.goldDeltaLow(), 3) + ", "
                                + Headline.number(r.goldDeltaHigh(), 3) + "]"),
                List.of("reward model's held-out pairwise accuracy", Headline.number(r.rmAccuracy(), 3)),
                List.of("final KL to the soup (objective/kl, last step)", Headline.number(r.finalKl(), 3)),
                List.of("wall time", Double.isFinite(r.wallSeconds())
                        ? String.format(java.util.Locale.ROOT, "%.0f s", r.wallSeconds()) : "n/a"),
                List.of("replay", r.replay() == null ? "not run" : r.replay()));
        h.append("<table class=\"headline\"><tbody>\n");
        for (List<String> row : rows) {
            h.append("<tr><th>").append(esc(row.get(0))).append("</th><td>").append(esc(row.get(1)))
                    .append("</td></tr>\n");
        }
        h.append("</tbody></table>\n<p class=\"note\">Gold = the built-in task's simulated rater, which the reward "
                + "model stands in for and the policy never trains on; greedy answers to every held-out prompt of "
                + "the task (its eval split, new phrasings, unseen facts: the table by kind is below the curves)."
                + "</p>\n</section>\n");
    }

    private static void guardTable(StringBuilder h, Map<String, List<StepMetrics>> byArm) {
        List<List<String>> rows = new ArrayList<>();
        int total = 0;
        for (List<StepMetrics> steps : byArm.values()) {
            for (StepMetrics s : steps) {
                for (StepMetrics.Guard g : s.guardEvents()) {
                    total++;
                    if (rows.size() < MAX_GUARD_ROWS) {
                        rows.add(List.of(s.arm(), String.valueOf(s.seed()), String.valueOf(s.step()), g.kind(),
                                g.action(), g.detail()));
                    }
                }
            }
        }
        if (total == 0) {
            h.append("<p id=\"guard-none\">No KL-hack guard events.</p>\n");
            return;
        }
        List<String> notes = total > rows.size()
                ? List.of("First " + rows.size() + " of " + total + " events.") : List.of();
        table(h, new ResultsTable("KL-hack guard events", List.of("arm", "seed", "step", "kind", "action", "detail"),
                rows, notes), "guard-events");
    }

    private static void table(StringBuilder h, ResultsTable t, String cssClass) {
        h.append("<table class=\"").append(cssClass).append("\"><caption>").append(esc(t.title()))
                .append("</caption>\n<thead><tr>");
        t.columns().forEach(c -> h.append("<th>").append(esc(c)).append("</th>"));
        h.append("</tr></thead><tbody>\n");
        for (List<String> row : t.rows()) {
            h.append("<tr>");
            row.forEach(c -> h.append("<td>").append(esc(c)).append("</td>"));
            h.append("</tr>\n");
        }
        h.append("</tbody></table>\n");
        t.notes().forEach(n -> h.append("<p class=\"note\">").append(esc(n)).append("</p>\n"));
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
