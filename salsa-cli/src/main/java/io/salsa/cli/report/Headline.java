package io.salsa.cli.report;

import java.util.Locale;

/**
 * The result a run leads with, because a reader must see in the first screen whether the policy got better by the
 * judge that matters: the held-out gold score before and after with its interval, the reward model's held-out
 * accuracy, the final KL to the reference, the wall time and whether the replay reproduced the run. Written to
 * {@code results.json} under the stable names {@code alignment.gold_start}, {@code alignment.gold_end},
 * {@code alignment.gold_delta_ci} (two numbers), {@code alignment.rm_accuracy} and {@code alignment.final_kl}; a
 * number the run did not reach is NaN in Java and null in the file.
 *
 * @param goldStart    mean gold score of the starting policy (the soup) on the held-out prompts
 * @param goldEnd      mean gold score of the final policy on the same prompts
 * @param goldDeltaLow  2.5th percentile of the paired bootstrap of end − start
 * @param goldDeltaHigh 97.5th percentile of it
 * @param goldPrompts  held-out prompts scored
 * @param goldFacts    the clusters the bootstrap resampled (facts, each with all its prompts); 0 when it resampled
 *                     prompts one by one
 * @param rmAccuracy   the reward model's pairwise accuracy on held-out preferences
 * @param finalKl      KL(policy ‖ reference) at the last step ({@code objective/kl})
 * @param wallSeconds  wall time of the run
 * @param replay       the replay's verdict, e.g. "identical (81/81 checkpoints)", or null when none ran
 */
public record Headline(double goldStart, double goldEnd, double goldDeltaLow, double goldDeltaHigh, int goldPrompts,
        int goldFacts, double rmAccuracy, double finalKl, double wallSeconds, String replay) {

    /** The gold score's change, end − start. */
    public double goldDelta() {
        return goldEnd - goldStart;
    }

    /** Whether the 95 % interval of the change lies above 0. */
    public boolean goldImproved() {
        return goldDeltaLow > 0;
    }

    /** {@code v} with {@code decimals} decimals, or "n/a" when it is not a finite number. */
    public static String number(double v, int decimals) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%." + decimals + "f", v) : "n/a";
    }
}
