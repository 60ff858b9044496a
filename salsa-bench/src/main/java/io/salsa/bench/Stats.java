package io.salsa.bench;

import java.util.Arrays;

/** The summary statistics the benches report (mean ± sd, median, percentiles), computed one way for all of them. */
public final class Stats {

    private Stats() {
    }

    public static double mean(double[] values) {
        double s = 0;
        for (double x : values) {
            s += x;
        }
        return s / values.length;
    }

    /** Sample standard deviation (n − 1 in the denominator) around {@code mean}. */
    public static double stddev(double[] values, double mean) {
        double s = 0;
        for (double x : values) {
            s += (x - mean) * (x - mean);
        }
        return Math.sqrt(s / (values.length - 1));
    }

    /** The middle value (the upper of the two middle ones for an even count), without changing {@code values}. */
    public static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /**
     * The nearest-rank {@code q}-quantile of ascending {@code sorted} values (q = 1 is the maximum), or NaN for no
     * values.
     */
    public static double percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
        return sorted[Math.max(0, i)];
    }

    /** Least-squares slope of {@code y} over {@code x} (same length); NaN with fewer than two distinct x. */
    public static double slope(double[] x, double[] y) {
        double n = x.length;
        double sx = 0;
        double sy = 0;
        double sxx = 0;
        double sxy = 0;
        for (int i = 0; i < x.length; i++) {
            sx += x[i];
            sy += y[i];
            sxx += x[i] * x[i];
            sxy += x[i] * y[i];
        }
        double d = n * sxx - sx * sx;
        return d == 0 ? Double.NaN : (n * sxy - sx * sy) / d;
    }
}
