package io.salsa.cli.demo;

import ai.djl.Device;
import io.salsa.cli.report.Headline;
import io.salsa.cli.report.MetricNames;
import io.salsa.cli.report.StepMetrics;
import io.salsa.cli.stats.Stats;
import io.salsa.learner.HeldOutEvaluator;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.runtime.io.FileOps;
import java.net.URI;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * The demo's verdict on alignment: the simulated rater (the gold judge the reward model stands in for) scores the
 * soup the policy started from and the final policy on the same held-out prompts, and a paired bootstrap over those
 * prompts says whether the change is more than noise. Reuses the learner's {@link HeldOutEvaluator} (greedy
 * answers, so the scores are a function of the weights) and {@link Stats#pairedBootstrap}.
 */
final class GoldEval {

    /** Held-out prompts scored at most (the task's eval split is usually smaller). */
    static final int MAX_PROMPTS = 256;
    /** Resamples of the paired bootstrap. */
    static final int RESAMPLES = 10_000;

    private GoldEval() {
    }

    /** The stage after the loop: score soup and final policy, bootstrap the change. */
    static Stage stage() {
        return new ModelStages.Simple("gold-eval", "score the soup and the final policy on held-out prompts with "
                + "the simulated rater (gold); paired bootstrap over prompts", ctx -> {
            Path soup = ModelStages.soup(ctx);
            Path policy = ModelStages.models(ctx).resolve("policy-final");
            FileOps.deleteTree(policy);
            ctx.store().blobStore().getFolder(URI.create(ctx.output(DemoStages.SALSA_LOOP, "final_checkpoint")),
                    ctx.output(DemoStages.SALSA_LOOP, "final_checkpoint_blob_sha256"), policy);
            double[] start;
            double[] end;
            try (HeldOutEvaluator judge = HeldOutEvaluator.forTask(ctx.profile().taskSeed(), ctx.profile().entities(),
                    MAX_PROMPTS, HeldOutEvaluator.MAX_NEW_TOKENS, soup)) {
                start = scores(judge, soup);
                end = scores(judge, policy);
            }
            Stats.Bootstrap b = Stats.pairedBootstrap(end, start, RESAMPLES, ctx.profile().taskSeed());
            ctx.out().printf(Locale.ROOT, "   gold score on %d held-out prompts: %.3f -> %.3f (change %+.3f, 95%% CI "
                    + "[%.3f, %.3f])%n", start.length, Stats.mean(start), Stats.mean(end), b.meanDiff(), b.ciLow(),
                    b.ciHigh());
            Map<String, String> o = new LinkedHashMap<>();
            o.put("prompts", String.valueOf(start.length));
            o.put("gold_start", num(Stats.mean(start)));
            o.put("gold_end", num(Stats.mean(end)));
            o.put("gold_delta", num(b.meanDiff()));
            o.put("gold_delta_ci_low", num(b.ciLow()));
            o.put("gold_delta_ci_high", num(b.ciHigh()));
            o.put("gold_delta_p", num(b.pValue()));
            o.put("policy_dir", policy.toString());
            return o;
        });
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
                gold.containsKey("prompts") ? Integer.parseInt(gold.get("prompts")) : 0, parse(accuracy),
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
