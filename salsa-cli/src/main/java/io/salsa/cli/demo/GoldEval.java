package io.salsa.cli.demo;

import ai.djl.Device;
import io.salsa.cli.report.Headline;
import io.salsa.cli.report.MetricNames;
import io.salsa.cli.report.ResultsTable;
import io.salsa.cli.report.StepMetrics;
import io.salsa.cli.stats.Stats;
import io.salsa.learner.HeldOutEvaluator;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.runtime.io.FileOps;
import io.salsa.task.SimulatedRater;
import io.salsa.task.TaskDataset;
import io.salsa.task.TaskPrompt;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The demo's verdict on alignment: the simulated rater (the gold judge the reward model stands in for) scores the
 * soup the policy started from and the final policy on every held-out prompt of the task, and a paired bootstrap says
 * whether the change is more than noise. Reuses the learner's {@link HeldOutEvaluator} (greedy answers, so the
 * scores are a function of the weights) and {@link Stats#pairedClusterBootstrap}.
 *
 * <p>Held out means no stage trained on the prompt's text: the eval split (questions about trained facts in trained
 * wordings), new phrasings (wordings of a question no SFT example, preference or rollout used) and unseen facts
 * (entity–attribute pairs no training question asked, in any wording). The prompts of one fact are not independent
 * (a policy that learnt the fact answers most of its phrasings), so the bootstrap resamples facts, not prompts; the
 * report also gives each of the three sets on its own.
 */
final class GoldEval {

    /** Resamples of the paired bootstrap. */
    static final int RESAMPLES = 10_000;

    /** The three kinds of held-out prompt, in the order the report lists them. */
    enum HeldOut {
        EVAL("eval", "eval split: trained facts, trained wordings, questions never trained on"),
        NEW_PHRASING("new_phrasing", "new phrasings: trained facts, wordings never trained on"),
        UNSEEN_FACT("unseen_fact", "unseen facts: entity–attribute pairs never asked in training");

        final String key;
        final String description;

        HeldOut(String key, String description) {
            this.key = key;
            this.description = description;
        }

        static HeldOut of(TaskPrompt p) {
            return p.oodCombo() ? UNSEEN_FACT : p.oodPhrasing() ? NEW_PHRASING : EVAL;
        }
    }

    private GoldEval() {
    }

    /** The stage after the loop: score soup and final policy, bootstrap the change. */
    static Stage stage() {
        return new ModelStages.Simple("gold-eval", "score the soup and the final policy on every held-out prompt "
                + "with the simulated rater (gold); paired bootstrap over facts", ctx -> {
            Path soup = ModelStages.soup(ctx);
            Path policy = ModelStages.models(ctx).resolve("policy-final");
            FileOps.deleteTree(policy);
            ctx.store().blobStore().getFolder(URI.create(ctx.output(DemoStages.SALSA_LOOP, "final_checkpoint")),
                    ctx.output(DemoStages.SALSA_LOOP, "final_checkpoint_blob_sha256"), policy);
            TaskDataset task = TaskStage.dataset(ctx.profile());
            List<TaskPrompt> prompts = heldOut(task);
            double[] start;
            double[] end;
            try (HeldOutEvaluator judge = HeldOutEvaluator.forPrompts(new SimulatedRater(task.world()),
                    prompts.stream().map(TaskPrompt::text).toList(), HeldOutEvaluator.MAX_NEW_TOKENS, soup)) {
                start = scores(judge, soup);
                end = scores(judge, policy);
            }
            Map<String, String> o = compare(prompts, start, end, ctx.profile().taskSeed(), ctx.out());
            o.put("policy_dir", policy.toString());
            return o;
        });
    }

    /** Every prompt of the task's eval and OOD splits. */
    static List<TaskPrompt> heldOut(TaskDataset task) {
        List<TaskPrompt> prompts = new ArrayList<>(task.prompts("eval"));
        prompts.addAll(task.prompts("ood"));
        return prompts;
    }

    /**
     * The stage's outputs for gold scores {@code start} and {@code end} of {@code prompts}: the change over all of
     * them with its interval (facts resampled), then the same for each {@link HeldOut} kind under its key (e.g.
     * {@code unseen_fact.gold_delta}); prints one line each.
     */
    static Map<String, String> compare(List<TaskPrompt> prompts, double[] start, double[] end, long seed,
            PrintStream out) {
        Map<String, Integer> factIds = new HashMap<>();
        int[] facts = new int[prompts.size()];
        for (int i = 0; i < facts.length; i++) {
            facts[i] = factIds.computeIfAbsent(prompts.get(i).combo(), c -> factIds.size());
        }
        Map<String, String> o = new LinkedHashMap<>();
        Stats.Bootstrap all = Stats.pairedClusterBootstrap(end, start, facts, RESAMPLES, seed);
        put(o, "", all, start, end, factIds.size());
        out.printf(Locale.ROOT, "   gold score on %d held-out prompts (%d facts): %.3f -> %.3f (change %+.3f, 95%% CI "
                + "[%.3f, %.3f])%n", start.length, factIds.size(), Stats.mean(start), Stats.mean(end),
                all.meanDiff(), all.ciLow(), all.ciHigh());
        for (HeldOut kind : HeldOut.values()) {
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                if (HeldOut.of(prompts.get(i)) == kind) {
                    idx.add(i);
                }
            }
            if (idx.isEmpty()) {
                continue;
            }
            double[] s = idx.stream().mapToDouble(i -> start[i]).toArray();
            double[] e = idx.stream().mapToDouble(i -> end[i]).toArray();
            int[] f = idx.stream().mapToInt(i -> facts[i]).toArray();
            Stats.Bootstrap b = Stats.pairedClusterBootstrap(e, s, f, RESAMPLES, seed);
            put(o, kind.key + ".", b, s, e, (int) Arrays.stream(f).distinct().count());
            out.printf(Locale.ROOT, "     %-13s %3d prompts: %.3f -> %.3f (change %+.3f, 95%% CI [%.3f, %.3f])%n",
                    kind.key, s.length, Stats.mean(s), Stats.mean(e), b.meanDiff(), b.ciLow(), b.ciHigh());
        }
        return o;
    }

    private static void put(Map<String, String> o, String prefix, Stats.Bootstrap b, double[] start, double[] end,
            int facts) {
        o.put(prefix + "prompts", String.valueOf(start.length));
        o.put(prefix + "facts", String.valueOf(facts));
        o.put(prefix + "gold_start", num(Stats.mean(start)));
        o.put(prefix + "gold_end", num(Stats.mean(end)));
        o.put(prefix + "gold_delta", num(b.meanDiff()));
        o.put(prefix + "gold_delta_ci_low", num(b.ciLow()));
        o.put(prefix + "gold_delta_ci_high", num(b.ciHigh()));
        o.put(prefix + "gold_delta_p", num(b.pValue()));
    }

    /** The gold score by kind of held-out prompt, from the stage's outputs; empty for runs before the kinds. */
    static Optional<ResultsTable> byKind(Map<String, String> gold) {
        List<List<String>> rows = new ArrayList<>();
        for (HeldOut kind : HeldOut.values()) {
            String k = kind.key + ".";
            if (gold.containsKey(k + "prompts")) {
                rows.add(row(kind.description, gold, k));
            }
        }
        if (rows.isEmpty()) {
            return Optional.empty();
        }
        rows.add(row("all held-out prompts (the headline)", gold, ""));
        return Optional.of(new ResultsTable("Held-out gold score by kind of prompt", List.of("prompts", "count",
                "facts", "start (soup)", "end (policy)", "change", "95 % CI (facts resampled)"), rows,
                List.of("Greedy answers scored by the simulated rater. A fact's phrasings are not independent, so the "
                        + "paired bootstrap resamples facts (entity–attribute pairs) with all their prompts.")));
    }

    private static List<String> row(String name, Map<String, String> gold, String k) {
        return List.of(name, gold.get(k + "prompts"), gold.getOrDefault(k + "facts", ""),
                fmt(gold.get(k + "gold_start")), fmt(gold.get(k + "gold_end")), fmt(gold.get(k + "gold_delta")),
                "[" + fmt(gold.get(k + "gold_delta_ci_low")) + ", " + fmt(gold.get(k + "gold_delta_ci_high")) + "]");
    }

    private static String fmt(String v) {
        return Headline.number(parse(v), 3);
    }

    private static double[] scores(HeldOutEvaluator judge, Path model) throws java.io.IOException {
        try (CausalLm m = CausalLms.load(model, GptModel.Head.NONE, Device.cpu())) {
            return judge.scores(m);
        }
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.6f", v);
    }

    /**
     * The headline of a demo run from its stages' outputs (as recorded, also by earlier runs), its metrics and its
     * wall time; what a stage that did not finish would have said is NaN (or a null replay verdict).
     */
    static Headline headline(Map<String, Map<String, String>> outputs, List<StepMetrics> steps, double wallSeconds) {
        Map<String, String> gold = outputs.getOrDefault("gold-eval", Map.of());
        Map<String, String> rm = outputs.getOrDefault("reward-model", Map.of());
        Map<String, String> replay = outputs.get("replay");
        OptionalDouble kl = steps.stream().max(Comparator.comparingLong(StepMetrics::step))
                .map(s -> s.value(MetricNames.KL)).orElse(OptionalDouble.empty());
        String accuracy = rm.get("rm_accuracy");
        if (accuracy == null && rm.containsKey("held_out_accuracy")) {
            // markers of runs before rm_accuracy existed: "before -> after"
            String[] parts = rm.get("held_out_accuracy").split("->");
            accuracy = parts[parts.length - 1].trim();
        }
        return new Headline(parse(gold.get("gold_start")), parse(gold.get("gold_end")),
                parse(gold.get("gold_delta_ci_low")), parse(gold.get("gold_delta_ci_high")),
                gold.containsKey("prompts") ? Integer.parseInt(gold.get("prompts")) : 0,
                gold.containsKey("facts") ? Integer.parseInt(gold.get("facts")) : 0, parse(accuracy),
                kl.orElse(Double.NaN), wallSeconds,
                replay == null || !replay.containsKey("checkpoints_identical") ? null
                        : "identical (" + replay.get("checkpoints_identical") + " checkpoints, "
                        + replay.get("steps") + " steps re-trained)");
    }

    private static double parse(String v) {
        if (v == null) {
            return Double.NaN;
        }
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }
}
