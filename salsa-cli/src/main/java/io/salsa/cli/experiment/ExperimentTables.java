package io.salsa.cli.experiment;

import io.salsa.cli.report.ResultsTable;
import io.salsa.cli.stats.Stats;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * Builds the experiment's result tables from per-prompt outcomes, mirroring the SALSA paper's comparisons: each
 * arm's gold reward, reward-model score, KL and length (mean ± spread over seeds), and each arm head to head
 * against the baseline (win / tie / loss by gold reward, with a sign test and a paired bootstrap).
 */
public final class ExperimentTables {

    /** Gold rewards closer than this are a tie. */
    public static final double TIE_TOLERANCE = 1e-6;
    /** Bootstrap resamples (fixed seed, so a report is reproducible). */
    public static final int BOOTSTRAP_RESAMPLES = 10_000;
    /** Significance level for the yes/no column. */
    public static final double ALPHA = 0.05;

    private ExperimentTables() {
    }

    /** Every table, split by split: the arms table, then the head-to-head table against {@code baseline}. */
    public static List<ResultsTable> build(List<ArmEvaluation> evaluations, String baseline) {
        List<ResultsTable> tables = new ArrayList<>();
        for (String split : ordered(evaluations, ArmEvaluation::split)) {
            List<ArmEvaluation> ofSplit = evaluations.stream().filter(e -> e.split().equals(split)).toList();
            tables.add(armsTable(split, ofSplit));
            headToHead(split, ofSplit, baseline).ifPresent(tables::add);
        }
        return tables;
    }

    static ResultsTable armsTable(String split, List<ArmEvaluation> evaluations) {
        List<List<String>> rows = new ArrayList<>();
        for (String arm : ordered(evaluations, ArmEvaluation::arm)) {
            List<ArmEvaluation> runs = evaluations.stream().filter(e -> e.arm().equals(arm)).toList();
            rows.add(List.of(arm, String.valueOf(runs.size()),
                    String.valueOf(runs.get(0).outcomes().size()),
                    overSeeds(runs, PromptOutcome::gold, 3),
                    overSeeds(runs, PromptOutcome::rewardScore, 3),
                    overSeeds(runs, PromptOutcome::klToReference, 3),
                    overSeeds(runs, o -> o.responseLength(), 1)));
        }
        return new ResultsTable("Arms on " + split + " prompts",
                List.of("arm", "seeds", "prompts", "gold reward", "reward-model score", "KL to own reference",
                        "response length"),
                rows, List.of("Each cell: mean over seeds of the per-seed mean over prompts, ± the sample standard "
                        + "deviation over seeds. Gold reward is the simulated rater's; the reward-model score is the "
                        + "proxy PPO optimised. KL is to each arm's own reference (the soup for SALSA)."));
    }

    static Optional<ResultsTable> headToHead(String split, List<ArmEvaluation> evaluations, String baseline) {
        Map<Long, ArmEvaluation> base = new LinkedHashMap<>();
        evaluations.stream().filter(e -> e.arm().equals(baseline)).forEach(e -> base.put(e.seed(), e));
        if (base.isEmpty()) {
            return Optional.empty();
        }
        List<List<String>> rows = new ArrayList<>();
        for (String arm : ordered(evaluations, ArmEvaluation::arm)) {
            if (arm.equals(baseline)) {
                continue;
            }
            WinTieLoss pooled = new WinTieLoss(0, 0, 0);
            List<Double> winRates = new ArrayList<>();
            List<Double> a = new ArrayList<>();
            List<Double> b = new ArrayList<>();
            for (ArmEvaluation run : evaluations) {
                if (!run.arm().equals(arm) || !base.containsKey(run.seed())) {
                    continue;
                }
                double[][] paired = pairByPrompt(run, base.get(run.seed()));
                WinTieLoss wtl = WinTieLoss.count(paired[0], paired[1], TIE_TOLERANCE);
                pooled = pooled.plus(wtl);
                winRates.add(wtl.winRate());
                for (int i = 0; i < paired[0].length; i++) {
                    a.add(paired[0][i]);
                    b.add(paired[1][i]);
                }
            }
            if (a.isEmpty()) {
                continue;
            }
            double sign = pooled.signTestPValue();
            Stats.Bootstrap boot = Stats.pairedBootstrap(toArray(a), toArray(b), BOOTSTRAP_RESAMPLES, 20241104L);
            rows.add(List.of(arm + " vs " + baseline, String.valueOf(pooled.wins()), String.valueOf(pooled.ties()),
                    String.valueOf(pooled.losses()),
                    Stats.spread(toArray(winRates)).format(3),
                    String.format(Locale.ROOT, "%.3g", sign),
                    String.format(Locale.ROOT, "%+.4f [%+.4f, %+.4f]", boot.meanDiff(), boot.ciLow(), boot.ciHigh()),
                    String.format(Locale.ROOT, "%.3g", boot.pValue()),
                    sign < ALPHA && boot.pValue() < ALPHA ? "yes" : "no"));
        }
        if (rows.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new ResultsTable("Head to head against " + baseline + " on " + split + " prompts",
                List.of("comparison", "win", "tie", "loss", "win rate (over seeds)", "sign test p",
                        "Δ gold reward [95% CI]", "bootstrap p", "significant"),
                rows, List.of("Win / tie / loss by the simulated rater's gold reward on the same prompt and seed, "
                        + "pooled over seeds; win rate = (win + tie/2) / prompts per seed, mean ± sd over seeds.",
                        "Sign test: exact two-sided binomial on wins vs losses (ties dropped). Bootstrap: "
                                + BOOTSTRAP_RESAMPLES + " paired resamples of the per-prompt gold-reward difference. "
                                + "'significant' needs both p < " + ALPHA + ".")));
    }

    /** Gold rewards of {@code a} and {@code b} on the prompts both answered, in {@code a}'s order. */
    static double[][] pairByPrompt(ArmEvaluation a, ArmEvaluation b) {
        Map<String, Double> gold = new LinkedHashMap<>();
        b.outcomes().forEach(o -> gold.put(o.promptId(), o.gold()));
        List<Double> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (PromptOutcome o : a.outcomes()) {
            Double other = gold.get(o.promptId());
            if (other != null) {
                x.add(o.gold());
                y.add(other);
            }
        }
        return new double[][] {toArray(x), toArray(y)};
    }

    private static String overSeeds(List<ArmEvaluation> runs, ToDoubleFunction<PromptOutcome> f, int decimals) {
        return Stats.spread(runs.stream().mapToDouble(r -> r.mean(f)).toArray()).format(decimals);
    }

    private static <T> Set<String> ordered(List<T> items, java.util.function.Function<T, String> key) {
        Set<String> out = new LinkedHashSet<>();
        items.forEach(i -> out.add(key.apply(i)));
        return out;
    }

    private static double[] toArray(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
