package io.salsa.cli.report;

import io.salsa.cli.stats.Stats;
import java.awt.Color;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.TreeMap;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Builds the report's XChart charts from steps grouped by arm; pure data-to-chart code so the HTML writer
 * only encodes and lays out what comes back.
 */
public final class Charts {

    static final int WIDTH = 760;
    static final int HEIGHT = 440;

    /** One colour per arm (colour-blind-safe Okabe–Ito), so an arm looks the same in every plot. */
    private static final Color[] PALETTE = {
        new Color(0, 114, 178), new Color(213, 94, 0), new Color(0, 158, 115), new Color(204, 121, 167),
        new Color(86, 180, 233), new Color(230, 159, 0), new Color(0, 0, 0), new Color(240, 228, 66)};

    private Charts() {
    }

    /** Mean over seeds of one metric per step, with the seeds' spread as error bars when there are several. */
    static XYChart perStep(String title, String yTitle, Map<String, List<StepMetrics>> byArm, List<String> names,
                           List<String> dashedNames, String dashedSuffix) {
        XYChart chart = base(title, "PPO step", yTitle);
        int i = 0;
        for (Map.Entry<String, List<StepMetrics>> arm : byArm.entrySet()) {
            Color color = PALETTE[i++ % PALETTE.length];
            addMeanSeries(chart, arm.getKey(), arm.getValue(), names, false, color);
            if (dashedNames != null) {
                addMeanSeries(chart, arm.getKey() + " " + dashedSuffix, arm.getValue(), dashedNames, true, color);
            }
        }
        return chart.getSeriesMap().isEmpty() ? null : chart;
    }

    /**
     * One line per named series of {@code [x, y]} points (the soak's per-process memory over time), in the report's
     * palette and style; null when every series is empty.
     */
    public static XYChart lines(String title, String xTitle, String yTitle, Map<String, List<double[]>> series) {
        return lines(title, xTitle, yTitle, series, false);
    }

    /**
     * One line with markers and error bars per named series of {@code [x, y, error]} points in the report's palette
     * (the experiment's gold-vs-KL frontier over the β sweep); null when every series is empty.
     */
    public static XYChart linesWithErrors(String title, String xTitle, String yTitle,
                                          Map<String, List<double[]>> series) {
        return lines(title, xTitle, yTitle, series, true);
    }

    private static XYChart lines(String title, String xTitle, String yTitle, Map<String, List<double[]>> series,
                                 boolean withErrors) {
        XYChart chart = base(title, xTitle, yTitle);
        int i = 0;
        for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
            Color color = PALETTE[i++ % PALETTE.length];
            if (e.getValue().isEmpty()) {
                continue;
            }
            List<double[]> p = e.getValue();
            XYSeries s = withErrors ? chart.addSeries(e.getKey(), column(p, 0), column(p, 1), column(p, 2))
                    : chart.addSeries(e.getKey(), column(p, 0), column(p, 1));
            s.setLineColor(color);
            s.setMarkerColor(color);
            s.setMarker(withErrors ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        }
        return chart.getSeriesMap().isEmpty() ? null : chart;
    }

    /**
     * Every (KL, score) point of every seed and step as a scatter, and each arm's Pareto frontier (the best
     * score reached at or below each KL) as a line: the paper's reward-vs-KL comparison.
     */
    static XYChart frontier(Map<String, List<StepMetrics>> byArm) {
        XYChart chart = base("Reward vs KL frontier", "KL(policy || reference)", "reward-model score");
        int i = 0;
        for (Map.Entry<String, List<StepMetrics>> arm : byArm.entrySet()) {
            Color color = PALETTE[i++ % PALETTE.length];
            List<double[]> points = new ArrayList<>();
            for (StepMetrics s : arm.getValue()) {
                OptionalDouble kl = s.value(MetricNames.KL);
                OptionalDouble score = s.value(MetricNames.SCORE);
                if (kl.isPresent() && score.isPresent()) {
                    points.add(new double[] {kl.getAsDouble(), score.getAsDouble()});
                }
            }
            if (points.isEmpty()) {
                continue;
            }
            XYSeries scatter = chart.addSeries(arm.getKey() + " steps", column(points, 0), column(points, 1));
            scatter.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            scatter.setMarker(SeriesMarkers.CIRCLE);
            scatter.setMarkerColor(new Color(color.getRed(), color.getGreen(), color.getBlue(), 110));
            List<double[]> front = paretoFrontier(points);
            XYSeries line = chart.addSeries(arm.getKey() + " frontier", column(front, 0), column(front, 1));
            line.setMarker(SeriesMarkers.NONE);
            line.setLineColor(color);
        }
        return chart.getSeriesMap().isEmpty() ? null : chart;
    }

    /** Cumulative KL-hack guard events per arm, summed over seeds, against the step they happened at. */
    static XYChart guardEvents(Map<String, List<StepMetrics>> byArm) {
        XYChart chart = base("KL-hack guard events (cumulative, all seeds)", "PPO step", "events so far");
        int i = 0;
        for (Map.Entry<String, List<StepMetrics>> arm : byArm.entrySet()) {
            Color color = PALETTE[i++ % PALETTE.length];
            TreeMap<Long, Integer> perStep = new TreeMap<>();
            for (StepMetrics s : arm.getValue()) {
                perStep.merge(s.step(), s.guardEvents().size(), Integer::sum);
            }
            if (perStep.isEmpty()) {
                continue;
            }
            List<Double> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            int total = 0;
            for (Map.Entry<Long, Integer> e : perStep.entrySet()) {
                total += e.getValue();
                xs.add(e.getKey().doubleValue());
                ys.add((double) total);
            }
            XYSeries series = chart.addSeries(arm.getKey(), xs, ys);
            series.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Step);
            series.setMarker(SeriesMarkers.NONE);
            series.setLineColor(color);
        }
        return chart.getSeriesMap().isEmpty() ? null : chart;
    }

    /** Points that no other point beats on both lower KL and higher score, in increasing KL. */
    static List<double[]> paretoFrontier(List<double[]> points) {
        List<double[]> sorted = new ArrayList<>(points);
        sorted.sort((a, b) -> a[0] != b[0] ? Double.compare(a[0], b[0]) : Double.compare(b[1], a[1]));
        List<double[]> front = new ArrayList<>();
        double best = Double.NEGATIVE_INFINITY;
        for (double[] p : sorted) {
            if (p[1] > best) {
                front.add(p);
                best = p[1];
            }
        }
        return front;
    }

    private static void addMeanSeries(XYChart chart, String name, List<StepMetrics> steps, List<String> metric,
                                      boolean dashed, Color color) {
        TreeMap<Long, List<Double>> perStep = new TreeMap<>();
        for (StepMetrics s : steps) {
            s.value(metric).ifPresent(v -> perStep.computeIfAbsent(s.step(), k -> new ArrayList<>()).add(v));
        }
        if (perStep.isEmpty()) {
            return;
        }
        List<Double> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        List<Double> errs = new ArrayList<>();
        boolean spread = false;
        for (Map.Entry<Long, List<Double>> e : perStep.entrySet()) {
            double[] v = e.getValue().stream().mapToDouble(Double::doubleValue).toArray();
            xs.add(e.getKey().doubleValue());
            ys.add(Stats.mean(v));
            double sd = v.length > 1 ? Stats.sampleSd(v) : 0;
            spread |= v.length > 1;
            errs.add(sd);
        }
        XYSeries series = spread ? chart.addSeries(name, xs, ys, errs) : chart.addSeries(name, xs, ys);
        series.setMarker(perStep.size() <= 40 && !dashed ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        series.setLineColor(color);
        series.setMarkerColor(color);
        if (dashed) {
            series.setLineStyle(SeriesLines.DASH_DASH);
        }
    }

    private static XYChart base(String title, String xTitle, String yTitle) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        Styler styler = chart.getStyler();
        styler.setLegendPosition(Styler.LegendPosition.OutsideS);
        styler.setLegendLayout(Styler.LegendLayout.Horizontal);
        styler.setChartBackgroundColor(java.awt.Color.WHITE);
        styler.setAntiAlias(true);
        chart.getStyler().setMarkerSize(5);
        return chart;
    }

    private static List<Double> column(List<double[]> points, int i) {
        return points.stream().map(p -> p[i]).toList();
    }
}
