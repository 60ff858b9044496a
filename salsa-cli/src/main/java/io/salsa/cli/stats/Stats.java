package io.salsa.cli.stats;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * The statistics the SALSA-vs-PPO comparison and the report need (mean and spread over seeds, paired bootstrap,
 * exact sign test), as small pure functions so each can be checked by hand. It sits in its own package so the
 * report and the experiment share it without depending on each other.
 */
public final class Stats {

    private Stats() {
    }

    /** Arithmetic mean; NaN for no values. */
    public static double mean(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (double v : values) {
            sum += v;
        }
        return sum / values.length;
    }

    /** Sample standard deviation (n − 1 in the denominator); NaN below two values, where it is undefined. */
    public static double sampleSd(double[] values) {
        if (values.length < 2) {
            return Double.NaN;
        }
        double m = mean(values);
        double ss = 0;
        for (double v : values) {
            ss += (v - m) * (v - m);
        }
        return Math.sqrt(ss / (values.length - 1));
    }

    /** Mean and sample standard deviation of {@code values}, e.g. one number per seed. */
    public static Spread spread(double[] values) {
        return new Spread(mean(values), sampleSd(values), values.length);
    }

    /**
     * Two-sided exact binomial sign test of {@code wins} against {@code losses} under p = ½ (ties are dropped,
     * as the sign test does): p = min(1, 2·P[X ≤ min(wins, losses)]) with X ~ Binomial(wins + losses, ½).
     */
    public static double signTestPValue(int wins, int losses) {
        if (wins < 0 || losses < 0) {
            throw new IllegalArgumentException("wins and losses must be ≥ 0, got " + wins + " and " + losses);
        }
        int n = wins + losses;
        if (n == 0) {
            return 1.0;
        }
        int k = Math.min(wins, losses);
        // log-space so that n in the thousands neither overflows C(n, i) nor underflows 2^-n
        double logHalfN = -n * Math.log(2);
        double tail = 0;
        double logC = 0; // log C(n, 0)
        for (int i = 0; i <= k; i++) {
            if (i > 0) {
                logC += Math.log(n - i + 1) - Math.log(i);
            }
            tail += Math.exp(logC + logHalfN);
        }
        return Math.min(1.0, 2 * tail);
    }

    /**
     * Paired bootstrap of the mean difference {@code a[i] − b[i]}: resamples the pairs with replacement
     * {@code resamples} times (seeded, so a report is reproducible) and returns the observed mean difference,
     * its 95 % percentile interval and a two-sided p-value for "the mean difference is 0".
     *
     * <p>p = min(1, 2·(min(#{d* ≤ 0}, #{d* ≥ 0}) + 1) / (B + 1)): the +1 keeps it from claiming p = 0 after
     * finitely many resamples.
     */
    public static Bootstrap pairedBootstrap(double[] a, double[] b, int resamples, long seed) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("paired samples need equal lengths, got " + a.length + " and "
                    + b.length);
        }
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i] - b[i];
        }
        return bootstrapMean(d, resamples, seed);
    }

    /**
     * Bootstrap of the mean of {@code values}: resamples them with replacement {@code resamples} times (seeded) and
     * returns the observed mean, its 95 % percentile interval and the two-sided p-value for "the mean is 0" as
     * {@link #pairedBootstrap} defines it (which is this on the differences).
     */
    public static Bootstrap bootstrapMean(double[] values, int resamples, long seed) {
        checkBootstrap(values.length, resamples);
        int n = values.length;
        SplittableRandom random = new SplittableRandom(seed);
        double[] means = new double[resamples];
        for (int r = 0; r < resamples; r++) {
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += values[random.nextInt(n)];
            }
            means[r] = sum / n;
        }
        return fromResamples(mean(values), means, n);
    }

    /** The interval and p-value of a statistic observed as {@code observed}, from its resampled values (sorts them). */
    private static Bootstrap fromResamples(double observed, double[] means, int n) {
        int atOrBelowZero = 0;
        int atOrAboveZero = 0;
        for (double m : means) {
            if (m <= 0) {
                atOrBelowZero++;
            }
            if (m >= 0) {
                atOrAboveZero++;
            }
        }
        Arrays.sort(means);
        return new Bootstrap(observed, percentile(means, 0.025), percentile(means, 0.975),
                pValue(means.length, atOrBelowZero, atOrAboveZero), n);
    }

    private static void checkBootstrap(int values, int resamples) {
        if (values == 0) {
            throw new IllegalArgumentException("bootstrap needs at least one value");
        }
        if (resamples < 1) {
            throw new IllegalArgumentException("resamples must be ≥ 1, got " + resamples);
        }
    }

    /**
     * {@link #pairedBootstrap} for pairs that come in clusters which are not independent of each other's members
     * (several phrasings of one question): resamples whole clusters with replacement, {@code clusters[i]} naming the
     * cluster of pair {@code i}, and takes the mean over every pair the drawn clusters hold. With correlated members
     * this interval is wider than resampling pairs one by one would claim; with one pair per cluster it is that
     * bootstrap.
     */
    public static Bootstrap pairedClusterBootstrap(double[] a, double[] b, int[] clusters, int resamples, long seed) {
        if (a.length != b.length || a.length != clusters.length) {
            throw new IllegalArgumentException("paired samples and their clusters need equal lengths, got " + a.length
                    + ", " + b.length + " and " + clusters.length);
        }
        checkBootstrap(a.length, resamples);
        Map<Integer, double[]> sums = new TreeMap<>(); // cluster → {sum of a − b, pairs}
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i] - b[i];
            double[] s = sums.computeIfAbsent(clusters[i], c -> new double[2]);
            s[0] += d[i];
            s[1]++;
        }
        double[][] byCluster = sums.values().toArray(new double[0][]);
        int k = byCluster.length;
        SplittableRandom random = new SplittableRandom(seed);
        double[] means = new double[resamples];
        for (int r = 0; r < resamples; r++) {
            double sum = 0;
            double count = 0;
            for (int i = 0; i < k; i++) {
                double[] c = byCluster[random.nextInt(k)];
                sum += c[0];
                count += c[1];
            }
            means[r] = sum / count;
        }
        return fromResamples(mean(d), means, a.length);
    }

    /** Two-sided bootstrap p-value of "the statistic is 0" from how many of {@code resamples} fell on each side. */
    public static double pValue(int resamples, int atOrBelowZero, int atOrAboveZero) {
        return Math.min(1.0, 2.0 * (Math.min(atOrBelowZero, atOrAboveZero) + 1) / (resamples + 1));
    }

    /** Linear-interpolated percentile of sorted values, q in [0, 1]. */
    public static double percentile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = (int) Math.ceil(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    /**
     * Mean and spread of a quantity over seeds.
     *
     * @param mean mean
     * @param sd   sample standard deviation (NaN for one seed)
     * @param n    number of values
     */
    public record Spread(double mean, double sd, int n) {

        /** {@code "0.512 ± 0.031"}, or just the mean when the spread is undefined. */
        public String format(int decimals) {
            String f = "%." + decimals + "f";
            if (Double.isNaN(mean)) {
                return "n/a";
            }
            return Double.isNaN(sd) ? String.format(f, mean) : String.format(f + " ± " + f, mean, sd);
        }
    }

    /**
     * Result of a paired bootstrap.
     *
     * @param meanDiff observed mean of a − b
     * @param ciLow    2.5th percentile of the resampled means
     * @param ciHigh   97.5th percentile of the resampled means
     * @param pValue   two-sided p-value for a zero mean difference
     * @param pairs    number of pairs
     */
    public record Bootstrap(double meanDiff, double ciLow, double ciHigh, double pValue, int pairs) {
    }
}
