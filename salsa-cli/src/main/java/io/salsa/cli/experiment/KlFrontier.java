package io.salsa.cli.experiment;

import io.salsa.cli.report.ResultsTable;
import io.salsa.cli.stats.Stats;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * The KL sweep's analysis: each arm's gold-reward-vs-KL frontier (one point per β) and arms compared at matched KL,
 * because comparing arms at one β compares them at different KLs (a soup reference and an SFT reference penalise
 * differently), and the paper's claim is about gold reward at equal divergence from the reference.
 *
 * <p>Matched KL, by interpolation: an arm's frontier is the piecewise-linear curve through its points (mean KL,
 * mean gold) ordered by KL. Two arms are compared where both curves exist — at the middle of the overlap of their
 * KL ranges — as the difference of their interpolated gold rewards. Its 95 % interval comes from a bootstrap that
 * resamples, for every point of both arms independently, that point's (seed, prompt) outcomes with replacement
 * (gold and KL together), redraws both curves and interpolates at the same KL (clamped to a curve's ends). Arms
 * whose KL ranges do not overlap are not extrapolated: their two closest points (one per arm) are compared, and the
 * table says that this is not a matched-KL comparison.
 */
public final class KlFrontier {

    /** Bootstrap resamples of the frontier and matched-KL intervals (fixed seed: a report is reproducible). */
    public static final int RESAMPLES = 2_000;
    private static final long BOOTSTRAP_SEED = 20261204L;

    private KlFrontier() {
    }

    /**
     * One point of an arm's frontier: its final policies at one β, pooled over seeds.
     *
     * @param arm      arm name
     * @param klCoef   the β trained with
     * @param seeds    runs pooled
     * @param outcomes (seed, prompt) outcomes pooled
     * @param kl       mean KL to the arm's own reference over the outcomes
     * @param gold     mean gold reward over the outcomes, with its 95 % bootstrap interval
     */
    public record Point(String arm, double klCoef, int seeds, int outcomes, double kl, Stats.Bootstrap gold) {
    }

    /**
     * Two arms at matched KL.
     *
     * @param overlapLow   lower end of the KL range both frontiers cover (not interpolated: the arm's point's KL)
     * @param overlapHigh  upper end (not interpolated: the baseline's point's KL)
     * @param kl           the KL they are compared at (the middle of the overlap)
     * @param goldArm      the arm's interpolated gold at {@code kl}
     * @param goldBase     the baseline's
     * @param diff         goldArm − goldBase with its bootstrap interval and p-value
     * @param interpolated true: on a common KL range; false: the ranges do not overlap, the closest points compared
     */
    public record Matched(double overlapLow, double overlapHigh, double kl, double goldArm, double goldBase,
                          Stats.Bootstrap diff, boolean interpolated) {
    }

    /** Every arm's frontier points of one split's evaluations, arms in first-seen order, points by β. */
    public static Map<String, List<Point>> points(List<ArmEvaluation> evaluations) {
        Map<String, TreeMap<Double, List<ArmEvaluation>>> byArm = new LinkedHashMap<>();
        for (ArmEvaluation e : evaluations) {
            byArm.computeIfAbsent(e.arm(), a -> new TreeMap<>()).computeIfAbsent(e.klCoef(), b -> new ArrayList<>())
                    .add(e);
        }
        Map<String, List<Point>> out = new LinkedHashMap<>();
        byArm.forEach((arm, byBeta) -> {
            List<Point> points = new ArrayList<>();
            byBeta.forEach((beta, runs) -> {
                double[][] pooled = pooled(runs);
                Stats.Bootstrap gold = Stats.bootstrapMean(pooled[0], RESAMPLES, BOOTSTRAP_SEED);
                points.add(new Point(arm, beta, runs.size(), pooled[0].length, Stats.mean(pooled[1]), gold));
            });
            out.put(arm, points);
        });
        return out;
    }

    /**
     * {@code arm} against {@code baseline} at matched KL: at the middle of the KL range both frontiers cover or,
     * when the ranges do not overlap, between the two points (one per arm) whose KLs are closest ({@link
     * Matched#interpolated()} false).
     *
     * @param arm      the arm's evaluations (all β, all seeds, one split)
     * @param baseline the baseline's
     */
    public static Optional<Matched> matched(List<ArmEvaluation> arm, List<ArmEvaluation> baseline) {
        List<double[][]> a = byBeta(arm);
        List<double[][]> b = byBeta(baseline);
        if (a.isEmpty() || b.isEmpty()) {
            return Optional.empty();
        }
        double[][] curveA = curve(a, null);
        double[][] curveB = curve(b, null);
        double low = Math.max(curveA[0][0], curveB[0][0]);
        double high = Math.min(curveA[curveA.length - 1][0], curveB[curveB.length - 1][0]);
        if (low <= high) {
            return Optional.of(compare(a, b, (low + high) / 2, low, high, true));
        }
        // no common range: the closest pair of points, each arm's curve reduced to that point
        int bestI = 0;
        int bestJ = 0;
        List<double[]> pointsA = means(a);
        List<double[]> pointsB = means(b);
        for (int i = 0; i < pointsA.size(); i++) {
            for (int j = 0; j < pointsB.size(); j++) {
                if (Math.abs(pointsA.get(i)[0] - pointsB.get(j)[0])
                        < Math.abs(pointsA.get(bestI)[0] - pointsB.get(bestJ)[0])) {
                    bestI = i;
                    bestJ = j;
                }
            }
        }
        double klA = pointsA.get(bestI)[0];
        double klB = pointsB.get(bestJ)[0];
        return Optional.of(compare(List.<double[][]>of(a.get(bestI)), List.<double[][]>of(b.get(bestJ)), (klA + klB) / 2, klA, klB, false));
    }

    /** Interpolated gold difference at {@code kl} with its bootstrap interval. */
    private static Matched compare(List<double[][]> a, List<double[][]> b, double kl, double low, double high,
                                   boolean interpolated) {
        double goldA = interpolate(curve(a, null), kl);
        double goldB = interpolate(curve(b, null), kl);
        SplittableRandom random = new SplittableRandom(BOOTSTRAP_SEED);
        double[] diffs = new double[RESAMPLES];
        int below = 0;
        int above = 0;
        for (int r = 0; r < RESAMPLES; r++) {
            double d = interpolate(curve(a, random), kl) - interpolate(curve(b, random), kl);
            diffs[r] = d;
            below += d <= 0 ? 1 : 0;
            above += d >= 0 ? 1 : 0;
        }
        Arrays.sort(diffs);
        Stats.Bootstrap diff = new Stats.Bootstrap(goldA - goldB, Stats.percentile(diffs, 0.025),
                Stats.percentile(diffs, 0.975), Stats.pValue(RESAMPLES, below, above), a.stream()
                .mapToInt(p -> p[0].length).sum() + b.stream().mapToInt(p -> p[0].length).sum());
        return new Matched(low, high, kl, goldA, goldB, diff, interpolated);
    }

    /** (mean KL, mean gold) of each β point, in β order. */
    private static List<double[]> means(List<double[][]> byBeta) {
        return byBeta.stream().map(p -> curve(List.<double[][]>of(p), null)[0]).toList();
    }

    /**
     * Gold at {@code kl} on the piecewise-linear curve through {@code curve}'s (KL, gold) rows sorted by KL,
     * clamped to its end values outside its range; points at the same KL are averaged.
     */
    static double interpolate(double[][] curve, double kl) {
        if (kl <= curve[0][0]) {
            return meanAt(curve, curve[0][0]);
        }
        if (kl >= curve[curve.length - 1][0]) {
            return meanAt(curve, curve[curve.length - 1][0]);
        }
        for (int i = 1; i < curve.length; i++) {
            if (kl <= curve[i][0]) {
                double x0 = curve[i - 1][0];
                double x1 = curve[i][0];
                if (x1 == x0) {
                    return meanAt(curve, x0);
                }
                return curve[i - 1][1] + (curve[i][1] - curve[i - 1][1]) * (kl - x0) / (x1 - x0);
            }
        }
        throw new IllegalStateException("unreachable: " + kl + " inside the curve's range");
    }

    private static double meanAt(double[][] curve, double x) {
        return Arrays.stream(curve).filter(p -> p[0] == x).mapToDouble(p -> p[1]).average().orElseThrow();
    }

    /** The frontier table of one split: a row per arm and β. */
    static ResultsTable table(String split, Map<String, List<Point>> points) {
        List<List<String>> rows = new ArrayList<>();
        points.values().forEach(list -> list.forEach(p -> rows.add(List.of(p.arm(),
                ExperimentConfig.formatBeta(p.klCoef()), String.valueOf(p.seeds()), String.valueOf(p.outcomes()),
                String.format(Locale.ROOT, "%.3f", p.kl()),
                String.format(Locale.ROOT, "%+.4f [%+.4f, %+.4f]", p.gold().meanDiff(), p.gold().ciLow(),
                        p.gold().ciHigh())))));
        return new ResultsTable("Gold reward vs KL frontier on " + split + " prompts",
                List.of("arm", "β", "seeds", "outcomes", "mean KL to own reference", "mean gold [95% CI]"), rows,
                List.of("One row per arm and KL coefficient β (fixed, no adaptive controller): the final policies' "
                        + "greedy answers to held-out prompts, pooled over seeds. KL is the exact sequence KL to the "
                        + "arm's own reference; the interval is a " + RESAMPLES + "-resample bootstrap over the "
                        + "(seed, prompt) outcomes."));
    }

    /** The matched-KL table of one split: each pair {@code [arm, baseline]} that both have evaluations. */
    static Optional<ResultsTable> matchedTable(String split, List<ArmEvaluation> evaluations,
                                               List<String[]> comparisons) {
        List<List<String>> rows = new ArrayList<>();
        for (String[] pair : comparisons) {
            List<ArmEvaluation> a = evaluations.stream().filter(e -> e.arm().equals(pair[0])).toList();
            List<ArmEvaluation> b = evaluations.stream().filter(e -> e.arm().equals(pair[1])).toList();
            if (a.isEmpty() || b.isEmpty()) {
                continue;
            }
            String name = pair[0] + " vs " + pair[1];
            Matched x = matched(a, b).orElseThrow();
            String range = x.interpolated()
                    ? String.format(Locale.ROOT, "[%.3f, %.3f]", x.overlapLow(), x.overlapHigh())
                    : String.format(Locale.ROOT, "none; closest points %.3f vs %.3f", x.overlapLow(),
                            x.overlapHigh());
            rows.add(List.of(name, range, x.interpolated() ? String.format(Locale.ROOT, "%.3f", x.kl()) : "n/a", String.format(Locale.ROOT, "%+.4f", x.goldArm()),
                    String.format(Locale.ROOT, "%+.4f", x.goldBase()),
                    String.format(Locale.ROOT, "%+.4f [%+.4f, %+.4f]", x.diff().meanDiff(), x.diff().ciLow(),
                            x.diff().ciHigh()),
                    String.format(Locale.ROOT, "%.3g", x.diff().pValue()),
                    !x.interpolated() ? "not at matched KL"
                            : x.diff().pValue() < ExperimentTables.ALPHA ? "yes" : "no"));
        }
        if (rows.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new ResultsTable("Head to head at matched KL on " + split + " prompts",
                List.of("comparison", "common KL range", "matched KL", "gold (arm)", "gold (baseline)",
                        "Δ gold [95% CI]", "bootstrap p", "significant"),
                rows, List.of("Each arm's frontier is the piecewise-linear curve through its (mean KL, mean gold) "
                        + "points over the β sweep; two arms are compared at the middle of the KL range both curves "
                        + "cover, by their interpolated gold. Interval and p: " + RESAMPLES + " bootstrap resamples "
                        + "of every point's (seed, prompt) outcomes, curves redrawn, interpolated at the same KL. "
                        + "'significant': p < " + ExperimentTables.ALPHA + ". When the KL ranges do not overlap "
                        + "nothing is extrapolated: the two points (one per arm) with the closest KLs are compared "
                        + "instead, and the row says so.")));
    }

    /** Per β (ascending): the pooled [gold[], kl[]] of the runs. */
    private static List<double[][]> byBeta(List<ArmEvaluation> runs) {
        TreeMap<Double, List<ArmEvaluation>> byBeta = new TreeMap<>();
        runs.forEach(e -> byBeta.computeIfAbsent(e.klCoef(), b -> new ArrayList<>()).add(e));
        return byBeta.values().stream().map(KlFrontier::pooled).toList();
    }

    /** [gold[], kl[]] of every outcome of {@code runs}. */
    private static double[][] pooled(List<ArmEvaluation> runs) {
        double[] gold = runs.stream().flatMap(r -> r.outcomes().stream()).mapToDouble(PromptOutcome::gold).toArray();
        double[] kl = runs.stream().flatMap(r -> r.outcomes().stream()).mapToDouble(PromptOutcome::klToReference)
                .toArray();
        return new double[][] {gold, kl};
    }

    /**
     * (mean KL, mean gold) per β point sorted by KL; with {@code random}, each point's outcomes resampled with
     * replacement first.
     */
    private static double[][] curve(List<double[][]> points, SplittableRandom random) {
        double[][] out = new double[points.size()][];
        for (int i = 0; i < points.size(); i++) {
            double[] gold = points.get(i)[0];
            double[] kl = points.get(i)[1];
            int n = gold.length;
            double g = 0;
            double k = 0;
            for (int j = 0; j < n; j++) {
                int pick = random == null ? j : random.nextInt(n);
                g += gold[pick];
                k += kl[pick];
            }
            out[i] = new double[] {k / n, g / n};
        }
        Arrays.sort(out, Comparator.comparingDouble(p -> p[0]));
        return out;
    }
}
