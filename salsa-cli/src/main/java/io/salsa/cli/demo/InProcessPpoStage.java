package io.salsa.cli.demo;

import ai.djl.Device;
import io.salsa.cli.experiment.ArmTrainer;
import io.salsa.cli.report.MetricsLog;
import io.salsa.cli.report.StepMetrics;
import io.salsa.core.blob.Sha256;
import io.salsa.core.model.GptModel;
import io.salsa.core.task.SimulatedRater;
import io.salsa.core.task.TaskDataset;
import io.salsa.core.task.TaskPrompt;
import io.salsa.core.tokenizer.SalsaTokenizer;
import io.salsa.learner.ppo.KlHackGuard;
import io.salsa.learner.ppo.PpoConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PPO against the soup with the demo's reward model, run in this process by the learner's own PPO step — NOT the
 * Kafka loop of rollout generators, reward scorer and learner services (that wiring is not part of the demo yet).
 * It is here so the demo ends with real SALSA training curves; its metrics go to {@code run/}
 * {@value #METRICS_FILE} and are merged into the report, under the arm name {@value #ARM}.
 */
final class InProcessPpoStage implements Stage {

    static final String METRICS_FILE = "ppo-in-process.jsonl";
    static final String ARM = "salsa-in-process";

    @Override
    public String name() {
        return "ppo-in-process";
    }

    @Override
    public String description() {
        return "PPO against the soup with the reward model, in-process (learner's PPO step, not the Kafka loop)";
    }

    @Override
    public Map<String, String> run(DemoContext ctx) throws Exception {
        DemoProfile p = ctx.profile();
        Path task = TaskStage.dir(ctx);
        Path soup = ModelStages.soup(ctx);
        Path policyOut = ModelStages.models(ctx).resolve("policy-in-process");
        ModelRecipes.deleteTree(policyOut);
        TaskDataset data = TaskStage.dataset(p);
        Map<String, String> ppo = new LinkedHashMap<>();
        ppo.put("batch_size", "8");
        ppo.put("mini_batch_size", "4");
        ppo.put("learning_rate", "1e-4");
        ppo.put("init_kl_coef", "0.1");
        List<StepMetrics> steps;
        try (SalsaTokenizer tok = SalsaTokenizer.load(task.resolve(SalsaTokenizer.TOKENIZER_JSON));
             GptModel rm = GptModel.load(ModelStages.models(ctx).resolve("reward-model"), GptModel.Head.SCORE,
                     Device.cpu())) {
            List<String> eval = data.prompts("eval").stream().map(TaskPrompt::text).limit(8).toList();
            ArmTrainer.Shared shared = new ArmTrainer.Shared(data.prompts("train").stream().map(TaskPrompt::text)
                    .toList(), eval, tok, (q, r) -> ModelRecipes.rewardScores(rm, q, r),
                    new SimulatedRater(data.world()), PpoConfig.fromMap(ppo), KlHackGuard.Config.defaults(), 16,
                    5, Device.cpu());
            steps = ArmTrainer.train(new ArmTrainer.Arm(ARM, soup, soup), 1, p.ppoSteps(), shared, policyOut,
                    ctx.out());
        }
        Path metrics = ctx.runDir().resolve(METRICS_FILE);
        Files.deleteIfExists(metrics);
        MetricsLog.append(metrics, steps);
        return Map.of("policy", policyOut.toString(), "steps", String.valueOf(steps.size()),
                "sha256", Sha256.of(policyOut.resolve("model.safetensors")));
    }
}
