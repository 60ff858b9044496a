package io.salsa.cli.experiment;

import io.salsa.cli.report.ResultsTable;
import io.salsa.cli.stats.Stats;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where each arm starts: the gold reward of its start model (a soup or one SFT model, which is also its KL
 * reference, so its KL is 0) on the same held-out prompts, and each frontier point's change from it. Without it the
 * frontier says which arm ends higher, not whether training helped at all.
 *
 * <p>The change is paired by prompt: every (seed, prompt) outcome of a point minus the start model's greedy outcome on
 * that prompt (greedy answers do not depend on the seed), then a bootstrap of the mean over those differences.
 */
final class StartPoints {

    /** Arm names of start-model evaluations: {@code start:<model>}. */
    static final String PREFIX = "start:";

    private StartPoints() {
    }

    /** The evaluation's arm name for start model {@code model}. */
    static String armName(String model) {
        return PREFIX + model;
    }

    static boolean isStart(ArmEvaluation e) {
        return e.arm().startsWith(PREFIX);
    }

    /**
     * The table of one split: a row per arm and β with the arm's mean gold, its start model's and the paired change.
     *
     * @param split       the split's name
     * @param evaluations the split's evaluations of trained arms
     * @param starts      the split's start-model evaluations, one per model (arm {@code start:<model>})
     * @param startOf     arm name → its start model's name
     */
    static ResultsTable table(String split, List<ArmEvaluation> evaluations, List<ArmEvaluation> starts,
                              Map<String, String> startOf) {
        Map<String, Map<String, Double>> startGold = new HashMap<>();
        for (ArmEvaluation s : starts) {
            Map<String, Double> byPrompt = new HashMap<>();
            s.outcomes().forEach(o -> byPrompt.put(o.promptId(), o.gold()));
            startGold.put(s.arm().substring(PREFIX.length()), byPrompt);
        }
        List<List<String>> rows = new ArrayList<>();
        Map<String, List<KlFrontier.Point>> points = KlFrontier.points(evaluations);
        points.forEach((arm, list) -> {
            String model = startOf.get(arm);
            Map<String, Double> start = model == null ? null : startGold.get(model);
            if (start == null) {
                return;
            }
            double startMean = Stats.mean(start.values().stream().mapToDouble(Double::doubleValue).toArray());
            for (KlFrontier.Point p : list) {
                double[] diffs = evaluations.stream()
                        .filter(e -> e.arm().equals(arm) && e.klCoef() == p.klCoef())
                        .flatMap(e -> e.outcomes().stream())
                        .mapToDouble(o -> o.gold() - start.get(o.promptId()))
                        .toArray();
                Stats.Bootstrap d = Stats.bootstrapMean(diffs, KlFrontier.RESAMPLES, BOOTSTRAP_SEED);
                rows.add(List.of(arm, ExperimentConfig.formatBeta(p.klCoef()), model,
                        String.format(Locale.ROOT, "%+.4f", startMean),
                        String.format(Locale.ROOT, "%+.4f", p.gold().meanDiff()),
                        String.format(Locale.ROOT, "%+.4f [%+.4f, %+.4f]", d.meanDiff(), d.ciLow(), d.ciHigh()),
                        d.ciLow() > 0 ? "better" : d.ciHigh() < 0 ? "worse" : "no change shown"));
            }
        });
        return new ResultsTable("Change from the start model on " + split + " prompts",
                List.of("arm", "β", "start model (= reference)", "start gold", "final gold", "Δ gold [95% CI]",
                        "verdict"), rows,
                List.of("Start gold: the start model's greedy answers to the same held-out prompts (its KL to "
                        + "itself is 0). Δ: each (seed, prompt) outcome minus the start model's outcome on that "
                        + "prompt, mean with a " + KlFrontier.RESAMPLES + "-resample bootstrap interval; \"better\" "
                        + "or \"worse\" only when the interval excludes 0."));
    }

    /** The start models themselves on one split: gold with its interval, reward-model score and answer length. */
    static ResultsTable models(String split, List<ArmEvaluation> starts) {
        List<List<String>> rows = new ArrayList<>();
        for (ArmEvaluation s : starts) {
            Stats.Bootstrap gold = Stats.bootstrapMean(s.outcomes().stream().mapToDouble(PromptOutcome::gold)
                    .toArray(), KlFrontier.RESAMPLES, BOOTSTRAP_SEED);
            rows.add(List.of(s.arm().substring(PREFIX.length()), String.valueOf(s.outcomes().size()),
                    String.format(Locale.ROOT, "%+.4f [%+.4f, %+.4f]", gold.meanDiff(), gold.ciLow(), gold.ciHigh()),
                    String.format(Locale.ROOT, "%.3f", s.mean(PromptOutcome::rewardScore)),
                    String.format(Locale.ROOT, "%.1f", s.mean(PromptOutcome::responseLength))));
        }
        return new ResultsTable("Start models on " + split + " prompts",
                List.of("model", "prompts", "gold [95% CI]", "reward-model score", "response length"), rows,
                List.of("The soups and the SFT model the arms start from (and are anchored to), before any training: "
                        + "greedy answers to the same held-out prompts as the arms'."));
    }

    private static final long BOOTSTRAP_SEED = 20261205L;
}
