package io.salsa.cli.experiment;

import io.salsa.cli.stats.Stats;

/**
 * Win / tie / loss of arm A against arm B on the same prompts, judged by the simulated rater's gold reward:
 * the paper's head-to-head table.
 *
 * @param wins   prompts where A's response has the higher gold reward by more than the tie tolerance
 * @param ties   prompts where the two gold rewards are within the tolerance
 * @param losses prompts where B's response is better by more than the tolerance
 */
public record WinTieLoss(int wins, int ties, int losses) {

    public WinTieLoss {
        if (wins < 0 || ties < 0 || losses < 0) {
            throw new IllegalArgumentException("counts must be ≥ 0");
        }
    }

    /**
     * Counts outcomes of paired gold rewards {@code a[i]} versus {@code b[i]}; |a − b| ≤ {@code tieTolerance}
     * is a tie, so that floating-point noise between equal responses is not a win.
     */
    public static WinTieLoss count(double[] a, double[] b, double tieTolerance) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("paired gold rewards need equal lengths, got " + a.length + " and "
                    + b.length);
        }
        if (!(tieTolerance >= 0)) {
            throw new IllegalArgumentException("tie tolerance must be ≥ 0, got " + tieTolerance);
        }
        int w = 0;
        int t = 0;
        int l = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - b[i];
            if (Math.abs(d) <= tieTolerance) {
                t++;
            } else if (d > 0) {
                w++;
            } else {
                l++;
            }
        }
        return new WinTieLoss(w, t, l);
    }

    /** Sum of two tallies (e.g. over seeds). */
    public WinTieLoss plus(WinTieLoss other) {
        return new WinTieLoss(wins + other.wins, ties + other.ties, losses + other.losses);
    }

    public int total() {
        return wins + ties + losses;
    }

    /** (wins + ties/2) / total: the paper's win rate; NaN with no prompts. */
    public double winRate() {
        return total() == 0 ? Double.NaN : (wins + 0.5 * ties) / total();
    }

    /** Two-sided exact sign test of wins against losses. */
    public double signTestPValue() {
        return Stats.signTestPValue(wins, losses);
    }
}
