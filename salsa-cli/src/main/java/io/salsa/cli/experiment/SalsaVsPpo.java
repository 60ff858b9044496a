package io.salsa.cli.experiment;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.cli.demo.ModelRecipes;
import io.salsa.cli.demo.Progress;
import io.salsa.cli.report.MetricsLog;
import io.salsa.cli.report.ReportWriter;
import io.salsa.cli.report.ResultsTable;
import io.salsa.cli.report.RunResults;
import io.salsa.cli.report.StepMetrics;
import io.salsa.learner.ppo.KlHackGuard;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.runtime.io.FileOps;
import io.salsa.scorer.rm.RmTrainConfig;
import io.salsa.task.SimulatedRater;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import io.salsa.task.TaskPrompt;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The SALSA-vs-PPO experiment end to end, in-process: task → base → four SFT models → soups of K=2 and K=4 →
 * reward model from the task's preferences → for every seed, the three arms trained with the same budget →
 * evaluation on held-out in-distribution and OOD prompts → tables with significance → report.
 *
 * <p>Every model and every finished run is kept in DIR, so a re-run (e.g. with more seeds) only does what is
 * missing. The arms differ only in their initial policy and KL reference, exactly as the paper's comparison.
 */
public final class SalsaVsPpo {

    /** The baseline arm of the head-to-head tables. */
    public static final String BASELINE = "ppo";
    static final List<String> SPLITS = List.of("in-distribution", "ood");

    private static final ObjectMapper JSON = new ObjectMapper();

    private SalsaVsPpo() {
    }

    /** What the experiment produced. */
    public record Outcome(Path report, List<ResultsTable> tables, List<ArmEvaluation> evaluations) {
    }

    /** Runs (or resumes) the experiment in {@code dir}. */
    public static Outcome run(Path dir, ExperimentConfig cfg, PrintStream out) throws IOException {
        long t0 = System.nanoTime();
        Device device = Device.cpu();
        Path models = dir.resolve("models");
        Path task = models.resolve("task");
        TaskDataset data = TaskDataset.generate(TaskConfig.defaults(cfg.taskSeed(), cfg.entities()));
        if (!Files.isRegularFile(task.resolve(SalsaTokenizer.TOKENIZER_JSON))) {
            out.println("== task: writing the built-in task to " + task);
            data.writeTo(task);
        }
        Path base = models.resolve("base");
        if (!ModelRecipes.exists(base)) {
            out.println("== base: pretraining the tiny GPT-2 on the task corpus");
            ModelRecipes.pretrain(task, base, cfg.pretrainEpochs(), 0, device, out::println);
        }
        List<Path> sft = new ArrayList<>();
        for (int k = 1; k <= 4; k++) {
            Path p = models.resolve("sft-" + k);
            if (!ModelRecipes.exists(p)) {
                out.println("== sft-" + k + ": fine-tuning from the base with seed " + k);
                ModelRecipes.sft(task, base, k, p, cfg.sftEpochs(), 0, device, out::println);
            }
            sft.add(p);
        }
        Path soup2 = models.resolve("soup-k2");
        Path soup4 = models.resolve("soup-k4");
        if (!ModelRecipes.exists(soup2)) {
            ModelRecipes.soup(sft.subList(0, 2), soup2);
        }
        if (!ModelRecipes.exists(soup4)) {
            ModelRecipes.soup(sft, soup4);
        }
        Path rm = models.resolve("reward-model");
        try (SalsaTokenizer tokenizer = SalsaTokenizer.load(task.resolve(SalsaTokenizer.TOKENIZER_JSON))) {
            if (!ModelRecipes.exists(rm)) {
                out.println("== reward model: Bradley-Terry on the task's preference pairs, from the base");
                var r = ModelRecipes.rewardModel(ModelRecipes.taskPreferences(task, tokenizer), base, rm,
                        RmTrainConfig.defaults(cfg.taskSeed()).withSteps(cfg.rmEpochs(), cfg.rmMaxSteps()), device, out::println);
                out.printf(Locale.ROOT, "   held-out accuracy %.3f -> %.3f%n", r.before().accuracy(),
                        r.after().accuracy());
            }
            List<ArmTrainer.Arm> arms = List.of(
                    new ArmTrainer.Arm("salsa-k2", soup2, soup2),
                    new ArmTrainer.Arm(BASELINE, sft.get(0), sft.get(0)),
                    new ArmTrainer.Arm("salsa-k4", soup4, soup4));
            SimulatedRater gold = new SimulatedRater(data.world());
            Map<String, List<String[]>> evalPrompts = new LinkedHashMap<>();
            evalPrompts.put("in-distribution", pick(data.prompts("eval"), cfg.evalPrompts(), cfg.taskSeed()));
            evalPrompts.put("ood", pick(data.prompts("ood"), cfg.evalPrompts(), cfg.taskSeed()));
            List<String> guardPrompts = evalPrompts.get("in-distribution").stream().limit(8).map(p -> p[1]).toList();

            List<StepMetrics> allSteps = new ArrayList<>();
            List<ArmEvaluation> evaluations = new ArrayList<>();
            try (CausalLm rewardModel = CausalLms.load(rm, GptModel.Head.SCORE, device)) {
                RewardFunction reward = (q, r) -> ModelRecipes.rewardScores(rewardModel, q, r);
                ArmTrainer.Shared shared = new ArmTrainer.Shared(
                        data.prompts("train").stream().map(TaskPrompt::text).toList(), guardPrompts, tokenizer,
                        reward, gold, cfg.ppo(), KlHackGuard.Config.defaults(), cfg.maxNewTokens(), cfg.guardEvery(),
                        device);
                int total = cfg.seeds() * arms.size();
                Progress runs = Progress.start("experiment", total, "runs", out);
                for (long seed = 1; seed <= cfg.seeds(); seed++) {
                    for (ArmTrainer.Arm arm : arms) {
                        Path runDir = dir.resolve("runs").resolve(arm.name() + "-seed" + seed);
                        RunFiles files = new RunFiles(runDir);
                        if (!files.complete()) {
                            List<StepMetrics> steps = ArmTrainer.train(arm, seed, cfg.steps(), shared,
                                    files.policy(), out);
                            List<ArmEvaluation> evals = new ArrayList<>();
                            for (String split : SPLITS) {
                                evals.add(Evaluator.evaluate(arm.name(), seed, split, evalPrompts.get(split),
                                        files.policy(), arm.referenceFolder(), tokenizer, reward, gold,
                                        cfg.maxNewTokens(), device));
                            }
                            files.write(steps, evals);
                        }
                        allSteps.addAll(files.steps());
                        evaluations.addAll(files.evaluations(arm.name(), seed));
                        runs.advance(1);
                    }
                }
                runs.finish();
            }

            List<ResultsTable> tables = ExperimentTables.build(evaluations, BASELINE);
            Path metrics = dir.resolve(MetricsLog.FILE_NAME);
            Files.deleteIfExists(metrics);
            MetricsLog.append(metrics, allSteps);
            Map<String, String> facts = new LinkedHashMap<>();
            facts.put("profile", cfg.toString());
            facts.put("arms", "salsa-k2: soup of sft-1, sft-2 (reference and start); ppo: sft-1 (reference and "
                    + "start); salsa-k4: soup of sft-1..sft-4");
            facts.put("seeds per arm", String.valueOf(cfg.seeds()));
            facts.put("PPO steps per run", String.valueOf(cfg.steps()));
            facts.put("evaluation", "greedy responses to " + evalPrompts.get("in-distribution").size()
                    + " in-distribution and " + evalPrompts.get("ood").size() + " OOD held-out prompts; "
                    + "gold = the task's simulated rater");
            facts.put("wall time", Progress.duration((System.nanoTime() - t0) / 1e9));
            new RunResults("SALSA vs PPO on the built-in task", facts, tables).write(dir);
            ReportWriter.Written w = ReportWriter.write(dir);
            return new Outcome(w.html(), tables, evaluations);
        }
    }

    /** Up to {@code n} prompts of a split as (id, text), in a seeded order so every run picks the same ones. */
    static List<String[]> pick(List<TaskPrompt> prompts, int n, long seed) {
        List<TaskPrompt> shuffled = new ArrayList<>(prompts);
        Collections.shuffle(shuffled, new Random(seed));
        return shuffled.stream().limit(n).map(p -> new String[] {p.id(), p.text()}).toList();
    }

    /** A finished run's files: policy folder, per-step metrics, per-prompt evaluation. */
    record RunFiles(Path dir) {

        Path policy() {
            return dir.resolve("policy");
        }

        Path stepsFile() {
            return dir.resolve(MetricsLog.FILE_NAME);
        }

        Path evalFile() {
            return dir.resolve("eval.jsonl");
        }

        /** The eval file is written last, so its presence means the run finished. */
        boolean complete() {
            return Files.isRegularFile(evalFile()) && ModelRecipes.exists(policy());
        }

        void write(List<StepMetrics> steps, List<ArmEvaluation> evals) throws IOException {
            Files.deleteIfExists(stepsFile());
            MetricsLog.append(stepsFile(), steps);
            StringBuilder b = new StringBuilder();
            for (ArmEvaluation e : evals) {
                for (PromptOutcome o : e.outcomes()) {
                    b.append(JSON.createObjectNode().put("split", e.split()).put("promptId", o.promptId())
                            .put("gold", o.gold()).put("rewardScore", o.rewardScore())
                            .put("klToReference", o.klToReference()).put("responseLength", o.responseLength()))
                            .append('\n');
                }
            }
            FileOps.writeStringAtomically(evalFile(), b.toString());
        }

        List<StepMetrics> steps() {
            return MetricsLog.read(stepsFile());
        }

        List<ArmEvaluation> evaluations(String arm, long seed) throws IOException {
            Map<String, List<PromptOutcome>> bySplit = new LinkedHashMap<>();
            List<String> lines = Files.readAllLines(evalFile(), StandardCharsets.UTF_8);
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).isBlank()) {
                    continue;
                }
                JsonNode n = JSON.readTree(lines.get(i));
                bySplit.computeIfAbsent(n.path("split").asText(), s -> new ArrayList<>()).add(new PromptOutcome(
                        n.path("promptId").asText(), n.path("gold").asDouble(), n.path("rewardScore").asDouble(),
                        n.path("klToReference").asDouble(), n.path("responseLength").asInt()));
            }
            List<ArmEvaluation> out = new ArrayList<>();
            bySplit.forEach((split, outcomes) -> out.add(new ArmEvaluation(arm, seed, split, outcomes)));
            return out;
        }
    }
}
