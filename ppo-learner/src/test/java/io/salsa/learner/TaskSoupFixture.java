package io.salsa.learner;

import ai.djl.Device;
import io.salsa.model.lm.GptModel;
import io.salsa.model.soup.Soups;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.model.train.PretrainCommand;
import io.salsa.model.train.SftConfig;
import io.salsa.model.train.SftRun;
import io.salsa.model.train.SftTrainer;
import io.salsa.scorer.rm.PreferenceData;
import io.salsa.scorer.rm.RewardModelTrainer;
import io.salsa.scorer.rm.RmTrainConfig;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import io.salsa.task.TaskPrompt;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.function.Consumer;

/**
 * The built-in task's whole model chain at test size — task world, pretrained tiny base, two SFT models that differ
 * only in their data-order seed, their uniform soup, and a Bradley–Terry reward model — each built by the same
 * library call its {@code salsa} command makes, so learner tests can start PPO where SALSA starts it.
 *
 * @param task          the task folder ({@code salsa task generate}'s files)
 * @param base          the pretrained base model folder
 * @param sft1          SFT model, data-order seed 1
 * @param sft2          SFT model, data-order seed 2
 * @param soup          uniform soup of {@code sft1} and {@code sft2}: the policy's start and the KL reference
 * @param rewardModel   reward-model folder (score head), trained on the task's preference pairs
 * @param rmResult      what reward-model training did (held-out pair accuracy before and after)
 * @param data          the task in memory: its {@code train} split is what SFT, the reward model's preference pairs
 *                      and PPO use; its {@code eval} split is held out from all three
 */
record TaskSoupFixture(Path task, Path base, Path sft1, Path sft2, Path soup, Path rewardModel,
                       RewardModelTrainer.Result rmResult, TaskDataset data) {

    /**
     * Sizes of the chain; {@code sft}'s seed is replaced by each SFT model's own (1 and 2).
     *
     * @param taskSeed seed of the task's world and splits
     * @param entities entities of the task's world
     * @param layers   transformer layers of the base (and so of every model in the chain)
     * @param heads    attention heads
     * @param width    embedding width
     * @param positions context length
     * @param pretrain pretraining of the base on the task corpus
     * @param sft      each SFT fine-tune of the base
     * @param rm       reward-model training from the base on the task's preference pairs
     */
    record Sizes(long taskSeed, int entities, int layers, int heads, int width, int positions, SftConfig pretrain,
                 SftConfig sft, RmTrainConfig rm) {

        /**
         * About 25 s on one CPU thread: a 2-layer, 64-wide GPT-2 (152k parameters) pretrained for 210 steps, two
         * 36-step SFT runs, a 100-step reward model (held-out pair accuracy about 0.83) on a 12-entity world.
         */
        static Sizes tiny() {
            return new Sizes(7, 12, 2, 2, 64, 64, new SftConfig(30, 1e-3, 16, 30, 0, 1.0, 0.0, 0),
                    new SftConfig(4, 2e-3, 16, 10, 0, 1.0, 0.0, 0),
                    new RmTrainConfig(2, 1e-3, 16, 10, 0, 1.0, 0.0, 0.2, 7));
        }
    }

    /** Builds every folder under {@code dir} (which must not hold them yet). */
    static TaskSoupFixture build(Path dir, Sizes sizes, Consumer<String> log) throws IOException {
        Device cpu = Device.cpu();
        Path task = dir.resolve("task");
        TaskDataset data = TaskDataset.generate(TaskConfig.defaults(sizes.taskSeed(), sizes.entities()));
        data.writeTo(task);

        Path base = dir.resolve("base");
        SftTrainer.Result pre = PretrainCommand.run(task.resolve(PretrainCommand.CORPUS),
                task.resolve(SalsaTokenizer.TOKENIZER_JSON), base, sizes.layers(), sizes.heads(), sizes.width(),
                sizes.positions(), sizes.pretrain(), cpu, line -> { });
        log.accept("pretrain: " + pre.steps() + " steps, eval loss " + pre.finalEvalLoss());

        Path sft1 = sft(task, base, dir.resolve("sft-1"), sizes.sft(), 1, log);
        Path sft2 = sft(task, base, dir.resolve("sft-2"), sizes.sft(), 2, log);
        Path soup = dir.resolve("soup");
        Soups.build(List.of(Soups.Member.of(sft1), Soups.Member.of(sft2)), soup);

        // as the experiment does: the reward model starts from the base with a fresh score head
        Path rm = dir.resolve("rm");
        RewardModelTrainer.Result rmResult;
        try (SalsaTokenizer tok = SalsaTokenizer.load(task);
             GptModel model = GptModel.load(base, GptModel.Head.SCORE, cpu)) {
            var pairs = PreferenceData.readJsonl(task.resolve("preferences.jsonl"), tok);
            rmResult = RewardModelTrainer.train(model,
                    RewardModelTrainer.split(pairs, sizes.rm().heldOutFraction(), sizes.rm().seed()), sizes.rm(),
                    line -> { });
            model.save(rm);
        }
        log.accept("reward model: " + rmResult.steps() + " steps, held-out pair accuracy "
                + rmResult.before().accuracy() + " -> " + rmResult.after().accuracy());
        copyTokenizer(base, rm);

        return new TaskSoupFixture(task, base, sft1, sft2, soup, rm, rmResult, data);
    }

    private static Path sft(Path task, Path base, Path out, SftConfig sizes, long seed, Consumer<String> log)
            throws IOException {
        SftConfig cfg = new SftConfig(sizes.epochs(), sizes.lr(), sizes.batchSize(), sizes.warmupSteps(),
                sizes.maxSteps(), sizes.maxGradNorm(), sizes.weightDecay(), seed);
        SftTrainer.Result r = SftRun.run(new SftRun.Request(task.resolve("sft-train.jsonl"),
                task.resolve("sft-eval.jsonl"), base, null, out, cfg, Device.cpu()), line -> { });
        log.accept(out.getFileName() + ": " + r.steps() + " steps, eval loss " + r.finalEvalLoss());
        return out;
    }

    private static void copyTokenizer(Path from, Path to) throws IOException {
        for (String f : List.of(SalsaTokenizer.TOKENIZER_JSON, SalsaTokenizer.TOKENIZER_CONFIG_JSON)) {
            if (Files.isRegularFile(from.resolve(f))) {
                Files.copy(from.resolve(f), to.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** The question texts of a split of the task. */
    List<String> prompts(String split) {
        return data.prompts(split).stream().map(TaskPrompt::text).toList();
    }
}
