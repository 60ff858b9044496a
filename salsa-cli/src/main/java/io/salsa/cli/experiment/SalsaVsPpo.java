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
import io.salsa.cli.report.Charts;
import io.salsa.cli.stats.Stats;
import io.salsa.learner.ppo.Algorithm;
import io.salsa.learner.ppo.KlHackGuard;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.runtime.io.FileOps;
import io.salsa.model.train.DpoTrainer;
import io.salsa.scorer.rm.PreferencePair;
import io.salsa.scorer.rm.RewardModelTrainer;
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
import org.knowm.xchart.XYChart;

/**
 * The SALSA-vs-PPO experiment end to end, in-process: task → base → four SFT models → soups of K=2 and K=4 →
 * reward model from the task's preferences → for every KL coefficient β of the sweep and every seed, five online
 * arms (PPO from the K=2 soup, one SFT model and the K=4 soup; GRPO from the soup and from one SFT model) trained
 * with the same budget through the learner's trainer, and two offline DPO arms (soup or one SFT model as start and
 * reference) on the reward model's preference pairs → evaluation on held-out in-distribution and OOD prompts →
 * the gold-vs-KL frontier of each arm, the arms head to head at matched KL, the per-β tables → report.
 *
 * <p>Every model and every finished run is kept in DIR, so a re-run (e.g. with more seeds or another β) only does
 * what is missing. Within an algorithm the arms differ only in their initial policy and KL reference, exactly as
 * the paper's comparison.
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
                    new ArmTrainer.Arm("salsa-k2", soup2, soup2, Algorithm.PPO),
                    new ArmTrainer.Arm(BASELINE, sft.get(0), sft.get(0), Algorithm.PPO),
                    new ArmTrainer.Arm("salsa-k4", soup4, soup4, Algorithm.PPO),
                    new ArmTrainer.Arm("grpo-soup", soup2, soup2, Algorithm.GRPO),
                    new ArmTrainer.Arm("grpo-sft", sft.get(0), sft.get(0), Algorithm.GRPO));
            List<OfflineArm> offline = List.of(new OfflineArm("dpo-soup", soup2), new OfflineArm("dpo-sft", sft.get(0)));
            SimulatedRater gold = new SimulatedRater(data.world());
            Map<String, List<String[]>> evalPrompts = new LinkedHashMap<>();
            evalPrompts.put("in-distribution", pick(data.prompts("eval"), cfg.evalPrompts(), cfg.taskSeed()));
            evalPrompts.put("ood", pick(data.prompts("ood"), cfg.evalPrompts(), cfg.taskSeed()));
            List<String> guardPrompts = evalPrompts.get("in-distribution").stream().limit(8).map(p -> p[1]).toList();
            // each arm's start model (also its KL reference), evaluated once: the frontier's KL = 0 end
            Map<String, Path> startModels = new LinkedHashMap<>();
            Map<String, String> startOf = new LinkedHashMap<>();
            arms.forEach(a -> startOf.put(a.name(), startModel(startModels, a.referenceFolder())));
            offline.forEach(a -> startOf.put(a.name(), startModel(startModels, a.reference())));

            RmTrainConfig rmCfg = RmTrainConfig.defaults(cfg.taskSeed());
            List<PreferencePair> rmTrain = RewardModelTrainer.split(ModelRecipes.taskPreferences(task, tokenizer),
                    rmCfg.heldOutFraction(), rmCfg.seed()).train();
            DpoArm.Prepared dpoPairs;
            try (CausalLm b = CausalLms.load(base, GptModel.Head.NONE, device)) {
                dpoPairs = DpoArm.pairs(rmTrain, tokenizer, b.maxPositions());
            }
            Map<Path, List<DpoTrainer.ScoredPair>> referenceLogProbs = new LinkedHashMap<>();

            List<StepMetrics> allSteps = new ArrayList<>();
            List<ArmEvaluation> evaluations = new ArrayList<>();
            List<ArmEvaluation> startEvaluations = new ArrayList<>();
            try (CausalLm rewardModel = CausalLms.load(rm, GptModel.Head.SCORE, device)) {
                RewardFunction reward = (q, r) -> ModelRecipes.rewardScores(rewardModel, q, r);
                ArmTrainer.Shared shared = new ArmTrainer.Shared(
                        data.prompts("train").stream().map(TaskPrompt::text).toList(), guardPrompts, tokenizer,
                        reward, gold, cfg.ppo(cfg.headlineKlCoef()), KlHackGuard.Config.defaults(),
                        cfg.maxNewTokens(), cfg.guardEvery(), cfg.groupSize(), device);
                for (Map.Entry<String, Path> m : startModels.entrySet()) {
                    RunFiles files = new RunFiles(dir.resolve("runs").resolve("start-" + m.getKey()));
                    String name = StartPoints.armName(m.getKey());
                    if (!Files.isRegularFile(files.evalFile())) {
                        Files.createDirectories(files.dir());
                        files.write(List.of(), evaluate(name, 0, 0, m.getValue(), m.getValue(), evalPrompts,
                                tokenizer, reward, gold, cfg, device));
                    }
                    startEvaluations.addAll(files.evaluations(name, 0, 0));
                }
                int total = cfg.klCoefs().size() * cfg.seeds() * (arms.size() + offline.size());
                Progress runs = Progress.start("experiment", total, "runs", out);
                for (double beta : cfg.klCoefs()) {
                    for (long seed = 1; seed <= cfg.seeds(); seed++) {
                        for (ArmTrainer.Arm arm : arms) {
                            String label = arm.name() + "@" + ExperimentConfig.formatBeta(beta);
                            RunFiles files = new RunFiles(runDir(dir, arm.name(), beta, seed));
                            if (!files.complete()) {
                                List<StepMetrics> steps = ArmTrainer.train(arm, label, beta, seed, cfg.steps(), shared,
                                        files.policy(), out);
                                files.write(steps, evaluate(arm.name(), beta, seed, files.policy(),
                                        arm.referenceFolder(), evalPrompts, tokenizer, reward, gold, cfg, device));
                            }
                            allSteps.addAll(files.steps());
                            evaluations.addAll(files.evaluations(arm.name(), beta, seed));
                            runs.advance(1);
                        }
                        for (OfflineArm arm : offline) {
                            RunFiles files = new RunFiles(runDir(dir, arm.name(), beta, seed));
                            if (!files.complete()) {
                                List<DpoTrainer.ScoredPair> pairs = referenceLogProbs.get(arm.reference());
                                if (pairs == null) {
                                    pairs = DpoArm.withReference(arm.reference(), dpoPairs.pairs(), cfg.batchSize(),
                                            device);
                                    referenceLogProbs.put(arm.reference(), pairs);
                                }
                                DpoTrainer.Metrics m = DpoArm.train(arm.reference(), pairs, beta, seed, cfg,
                                        files.policy(), device, out);
                                out.printf(Locale.ROOT, "[%s@%s-seed%d] DPO loss %.4f, implicit-reward accuracy %.3f, "
                                        + "margin %.3f (first 256 training pairs)%n", arm.name(),
                                        ExperimentConfig.formatBeta(beta), seed, m.loss(), m.accuracy(), m.margin());
                                files.write(List.of(), evaluate(arm.name(), beta, seed, files.policy(),
                                        arm.reference(), evalPrompts, tokenizer, reward, gold, cfg, device));
                            }
                            evaluations.addAll(files.evaluations(arm.name(), beta, seed));
                            runs.advance(1);
                        }
                    }
                }
                runs.finish();
            }

            List<ResultsTable> tables = new ArrayList<>();
            Map<String, XYChart> charts = new LinkedHashMap<>();
            for (String split : SPLITS) {
                List<ArmEvaluation> ofSplit = evaluations.stream().filter(e -> e.split().equals(split)).toList();
                KlFrontier.matchedTable(split, ofSplit, COMPARISONS).ifPresent(tables::add);
                Map<String, List<KlFrontier.Point>> points = KlFrontier.points(ofSplit);
                tables.add(KlFrontier.table(split, points));
                List<ArmEvaluation> starts = startEvaluations.stream().filter(e -> e.split().equals(split)).toList();
                tables.add(StartPoints.models(split, starts));
                tables.add(StartPoints.table(split, ofSplit, starts, startOf));
                Map<String, Stats.Bootstrap> startGold = new LinkedHashMap<>();
                for (ArmEvaluation e : starts) {
                    startGold.put(e.arm().substring(StartPoints.PREFIX.length()), Stats.bootstrapMean(
                            e.outcomes().stream().mapToDouble(PromptOutcome::gold).toArray(), KlFrontier.RESAMPLES,
                            cfg.taskSeed()));
                }
                Map<String, Stats.Bootstrap> armStart = new LinkedHashMap<>();
                startOf.forEach((arm, model) -> armStart.put(arm, startGold.get(model)));
                charts.put(split.equals("ood") ? "gold-frontier-ood" : "gold-frontier",
                        frontierChart(split, points, armStart));
            }
            double headline = cfg.headlineKlCoef();
            for (ResultsTable t : ExperimentTables.build(evaluations.stream().filter(e -> e.klCoef() == headline)
                    .toList(), BASELINE)) {
                tables.add(new ResultsTable(t.title() + " at β = " + ExperimentConfig.formatBeta(headline),
                        t.columns(), t.rows(), t.notes()));
            }
            Path metrics = dir.resolve(MetricsLog.FILE_NAME);
            Files.deleteIfExists(metrics);
            MetricsLog.append(metrics, allSteps);
            Map<String, String> facts = new LinkedHashMap<>();
            facts.put("profile", cfg.toString());
            facts.put("arms", "online, trained by the learner's PpoTrainer: salsa-k2 (ppo; soup of sft-1, sft-2 as "
                    + "start and reference), ppo (ppo; sft-1), salsa-k4 (ppo; soup of sft-1..sft-4), grpo-soup (grpo; "
                    + "soup K=2), grpo-sft (grpo; sft-1); offline: dpo-soup (DPO from and against soup K=2), dpo-sft "
                    + "(DPO from and against sft-1)");
            facts.put("KL coefficients β", cfg.klCoefsText() + " (fixed: no adaptive KL controller)");
            facts.put("seeds per arm and β", String.valueOf(cfg.seeds()));
            facts.put("online steps per run", cfg.steps() + " × " + cfg.batchSize() + " rollouts (GRPO: "
                    + cfg.batchSize() / cfg.groupSize() + " prompts × " + cfg.groupSize() + " responses)");
            facts.put("DPO", cfg.dpoSteps() + " steps × " + cfg.batchSize() + " pairs, lr " + cfg.dpoLearningRate()
                    + ", on the reward model's " + dpoPairs.pairs().size() + " training pairs (" + dpoPairs.skipped()
                    + " ties or over-long left out); reference log-probs computed once per reference");
            facts.put("evaluation", "greedy responses to " + evalPrompts.get("in-distribution").size()
                    + " in-distribution and " + evalPrompts.get("ood").size() + " OOD held-out prompts; "
                    + "gold = the task's simulated rater");
            facts.put("matched KL", "interpolated: each frontier is piecewise linear through its (mean KL, mean gold) "
                    + "points; arms compared at the middle of their common KL range");
            facts.put("wall time", Progress.duration((System.nanoTime() - t0) / 1e9));
            new RunResults("SALSA vs PPO on the built-in task", facts, tables).write(dir);
            ReportWriter.Written w = ReportWriter.write(dir, charts);
            return new Outcome(w.html(), tables, evaluations);
        }
    }

    /** Which arm is compared with which at matched KL: every arm with PPO, then soup against SFT reference. */
    static final List<String[]> COMPARISONS = List.of(
            new String[] {"salsa-k2", BASELINE}, new String[] {"salsa-k4", BASELINE},
            new String[] {"grpo-soup", BASELINE}, new String[] {"grpo-sft", BASELINE},
            new String[] {"dpo-soup", BASELINE}, new String[] {"dpo-sft", BASELINE},
            new String[] {"grpo-soup", "grpo-sft"}, new String[] {"dpo-soup", "dpo-sft"});

    /** Registers {@code folder} as a start model under its folder name (soup-k2, sft-1, ...) and returns the name. */
    private static String startModel(Map<String, Path> startModels, Path folder) {
        String name = folder.getFileName().toString();
        startModels.putIfAbsent(name, folder);
        return name;
    }

    /** An offline arm: DPO starting from and anchored to {@code reference}. */
    private record OfflineArm(String name, Path reference) {
    }

    private static Path runDir(Path dir, String arm, double beta, long seed) {
        return dir.resolve("runs").resolve(arm + "-b" + ExperimentConfig.formatBeta(beta) + "-seed" + seed);
    }

    private static List<ArmEvaluation> evaluate(String arm, double beta, long seed, Path policy, Path reference,
                                                Map<String, List<String[]>> prompts, SalsaTokenizer tokenizer,
                                                RewardFunction reward, SimulatedRater gold, ExperimentConfig cfg,
                                                Device device) throws IOException {
        List<ArmEvaluation> evals = new ArrayList<>();
        for (String split : SPLITS) {
            evals.add(Evaluator.evaluate(arm, beta, seed, split, prompts.get(split), policy, reference, tokenizer,
                    reward, gold, cfg.maxNewTokens(), device));
        }
        return evals;
    }

    /**
     * Mean gold against mean KL per β for every arm, bars the half-width of the gold interval; each arm's line starts
     * at its start model (KL 0 to itself).
     */
    private static XYChart frontierChart(String split, Map<String, List<KlFrontier.Point>> points,
                                         Map<String, Stats.Bootstrap> startGold) {
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        points.forEach((arm, list) -> {
            List<double[]> xy = new ArrayList<>();
            Stats.Bootstrap start = startGold.get(arm);
            if (start != null) {
                xy.add(new double[] {0, start.meanDiff(), (start.ciHigh() - start.ciLow()) / 2});
            }
            list.stream().sorted(java.util.Comparator.comparingDouble(KlFrontier.Point::kl))
                    .forEach(p -> xy.add(new double[] {p.kl(), p.gold().meanDiff(),
                            (p.gold().ciHigh() - p.gold().ciLow()) / 2}));
            series.put(arm, xy);
        });
        return Charts.linesWithErrors("Gold reward vs KL over the β sweep (" + split + " prompts)",
                "mean KL to own reference", "mean gold reward", series);
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

        List<ArmEvaluation> evaluations(String arm, double beta, long seed) throws IOException {
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
            bySplit.forEach((split, outcomes) -> out.add(new ArmEvaluation(arm, beta, seed, split, outcomes)));
            return out;
        }
    }
}
