package io.salsa.cli.soak;

import io.salsa.cli.report.Charts;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.XYChart;

/** The soak's plots: one metric per process over time, and the loop's throughput, in minutes. */
final class SoakCharts {

    private SoakCharts() {
    }

    static XYChart perService(String title, String yTitle, SoakSeries series, List<String> services, String metric) {
        Map<String, List<double[]>> lines = new LinkedHashMap<>();
        for (String s : services) {
            lines.put(s, minutes(series.series(s, metric)));
        }
        return Charts.lines(title, "minutes", yTitle, lines);
    }

    static XYChart throughput(SoakSeries series) {
        Map<String, List<double[]>> lines = new LinkedHashMap<>();
        for (String m : List.of("learner_steps", "rollout_offsets", "scored_offsets", "preferences")) {
            lines.put(m, minutes(series.series(Sampler.LOOP, m)));
        }
        return Charts.lines("Loop throughput (counted from the topics)", "minutes", "records", lines);
    }

    private static List<double[]> minutes(List<double[]> pairs) {
        List<double[]> out = new ArrayList<>(pairs.size());
        for (double[] p : pairs) {
            out.add(new double[] {p[0] / 60.0, p[1]});
        }
        return out;
    }
}
