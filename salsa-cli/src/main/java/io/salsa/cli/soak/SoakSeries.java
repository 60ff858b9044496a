package io.salsa.cli.soak;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The soak's samples in long format ({@code time_s,service,metric,value}), written to {@code soak.csv} as they
 * come (a run that dies keeps what it sampled) and kept for the summary's slopes.
 */
final class SoakSeries implements AutoCloseable {

    static final String HEADER = "time_s,service,metric,value";

    /** One sample. */
    record Point(double timeS, String service, String metric, double value) {
    }

    private final List<Point> points = new ArrayList<>();
    private final BufferedWriter csv;

    SoakSeries(Path csvFile) throws IOException {
        csv = Files.newBufferedWriter(csvFile, StandardCharsets.UTF_8);
        csv.write(HEADER);
        csv.newLine();
        csv.flush();
    }

    synchronized void add(double timeS, String service, String metric, double value) {
        if (Double.isNaN(value) || value < 0) {
            return; // not readable this time (process restarting, broker down): no sample rather than a false one
        }
        points.add(new Point(timeS, service, metric, value));
        try {
            csv.write(String.format(Locale.ROOT, "%.1f,%s,%s,%s", timeS, service, metric, format(value)));
            csv.newLine();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    synchronized void flush() throws IOException {
        csv.flush();
    }

    synchronized List<Point> points() {
        return List.copyOf(points);
    }

    /** The points of one service and metric as {@code [time_s, value]} pairs, in time order. */
    synchronized List<double[]> series(String service, String metric) {
        List<double[]> out = new ArrayList<>();
        for (Point p : points) {
            if (p.service().equals(service) && p.metric().equals(metric)) {
                out.add(new double[] {p.timeS(), p.value()});
            }
        }
        return out;
    }

    /** Every service with a sample of {@code metric}, in first-seen order. */
    synchronized List<String> services(String metric) {
        Map<String, Boolean> seen = new LinkedHashMap<>();
        for (Point p : points) {
            if (p.metric().equals(metric)) {
                seen.put(p.service(), true);
            }
        }
        return List.copyOf(seen.keySet());
    }

    /** Metric names per service, sorted, for the test and the summary. */
    synchronized Map<String, List<String>> metricsByService() {
        Map<String, java.util.TreeSet<String>> m = new TreeMap<>();
        for (Point p : points) {
            m.computeIfAbsent(p.service(), s -> new java.util.TreeSet<>()).add(p.metric());
        }
        Map<String, List<String>> out = new TreeMap<>();
        m.forEach((k, v) -> out.put(k, List.copyOf(v)));
        return out;
    }

    /**
     * Least-squares slope of {@code value} per hour over the pairs with {@code time ≥ from}; NaN with fewer than
     * three of them.
     */
    static double slopePerHour(List<double[]> pairs, double from) {
        double n = 0;
        double sx = 0;
        double sy = 0;
        double sxx = 0;
        double sxy = 0;
        for (double[] p : pairs) {
            if (p[0] < from) {
                continue;
            }
            n++;
            sx += p[0];
            sy += p[1];
            sxx += p[0] * p[0];
            sxy += p[0] * p[1];
        }
        double d = n * sxx - sx * sx;
        if (n < 3 || d == 0) {
            return Double.NaN;
        }
        return (n * sxy - sx * sy) / d * 3600.0;
    }

    private static String format(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v)
                : String.format(Locale.ROOT, "%.3f", v);
    }

    @Override
    public synchronized void close() throws IOException {
        csv.close();
    }
}
