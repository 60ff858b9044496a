package io.salsa.cli.demo;

import ai.djl.Device;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.soup.Soups;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.model.train.PretrainCommand;
import io.salsa.model.train.SftConfig;
import io.salsa.model.train.SftRun;
import io.salsa.model.train.SftTrainer;
import io.salsa.runtime.io.FileOps;
import io.salsa.scorer.RewardSequences;
import io.salsa.scorer.rm.PreferenceData;
import io.salsa.scorer.rm.PreferencePair;
import io.salsa.scorer.rm.RewardModelTrainer;
import io.salsa.scorer.rm.RmTrainConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The model-building steps the demo and the experiment share — pretrain the tiny base, fine-tune SFT models,
 * average soups, train a reward model — each calling the model library exactly as its {@code salsa} command does,
 * and each writing its folder atomically (build in {@code NAME.tmp}, then rename) so an interrupted run never
 * leaves a half-written model that a resume would trust.
 */
public final class ModelRecipes {

    private ModelRecipes() {
    }

    /** True when {@code dir} holds a finished model folder. */
    public static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve("model.safetensors")) && Files.isRegularFile(dir.resolve("config.json"));
    }

    /** The base architectures {@code salsa demo --model} builds: {@code gpt2}, {@code llama}. */
    public static final List<String> MODELS = PretrainCommand.Shape.ARCHS;

    /**
     * The tiny base of {@code model} ({@link #MODELS}): 2 layers × 128 wide, 4 heads, 128 positions either way —
     * GPT-2, or Llama-style (RMSNorm, RoPE, SwiGLU MLP 352 wide, 2 key/value heads, tied embeddings), which has
     * slightly fewer parameters (GQA halves k/v) — so the two demos compare at the same size.
     */
    public static PretrainCommand.Shape baseShape(String model) {
        return switch (model) {
            case "gpt2" -> PretrainCommand.Shape.gpt2(2, 4, 128, 128);
            case "llama" -> PretrainCommand.Shape.llama(2, 4, 128, 128);
            default -> throw new IllegalArgumentException("model \"" + model + "\" is not supported (supported: "
                    + String.join(", ", MODELS) + ")");
        };
    }

    /** {@link #pretrain(Path, Path, PretrainCommand.Shape, int, int, Device, Consumer)} of the tiny GPT-2 base. */
    public static SftTrainer.Result pretrain(Path taskDir, Path out, int epochs, int maxSteps, Device device,
                                             Consumer<String> progress) throws IOException {
        return pretrain(taskDir, out, baseShape("gpt2"), epochs, maxSteps, device, progress);
    }

    /**
     * Pretrains a tiny base of {@code shape} on the task's corpus ({@code salsa pretrain}).
     *
     * @param epochs   passes over the corpus
     * @param maxSteps cap on optimizer steps, 0 = epochs decide
     */
    public static SftTrainer.Result pretrain(Path taskDir, Path out, PretrainCommand.Shape shape, int epochs,
                                             int maxSteps, Device device, Consumer<String> progress)
            throws IOException {
        double lr = 1e-3;
        for (int attempt = 1; ; attempt++) {
            Path tmp = fresh(out);
            SftConfig cfg = new SftConfig(epochs, lr, 16, 30, maxSteps, 1.0, 0.0, 0);
            try {
                SftTrainer.Result r = PretrainCommand.run(taskDir.resolve(PretrainCommand.CORPUS),
                        taskDir.resolve(SalsaTokenizer.TOKENIZER_JSON), tmp, shape, cfg, device, progress);
                publish(tmp, out);
                return r;
            } catch (IllegalStateException e) {
                // pretraining from scratch occasionally diverges (NaN) on this tiny model; a lower learning rate is
                // what the trainer itself recommends, so try once more before giving up
                if (attempt >= 2 || e.getMessage() == null || !e.getMessage().contains("NaN")) {
                    throw e;
                }
                progress.accept("pretraining diverged (" + e.getMessage() + "); retrying with lr " + lr / 2);
                lr /= 2;
            }
        }
    }

    /** Fine-tunes one SFT model from {@code base} on the task's training split ({@code salsa sft train}). */
    public static SftTrainer.Result sft(Path taskDir, Path base, long seed, Path out, int epochs, int maxSteps,
                                        Device device, Consumer<String> progress) throws IOException {
        Path tmp = fresh(out);
        SftConfig defaults = SftConfig.defaults(seed);
        SftConfig cfg = new SftConfig(epochs, defaults.lr(), defaults.batchSize(), defaults.warmupSteps(), maxSteps,
                defaults.maxGradNorm(), defaults.weightDecay(), seed);
        SftTrainer.Result r = SftRun.run(new SftRun.Request(taskDir.resolve("sft-train.jsonl"),
                taskDir.resolve("sft-eval.jsonl"), base, null, tmp, cfg, device), progress);
        publish(tmp, out);
        return r;
    }

    /** Uniform soup of {@code members} ({@code salsa soup}). */
    public static Soups.Result soup(List<Path> members, Path out) throws IOException {
        Path tmp = fresh(out);
        Soups.Result r = Soups.build(members.stream().map(Soups.Member::of).toList(), tmp);
        publish(tmp, out);
        return r;
    }

    /**
     * Trains a Bradley–Terry reward model from {@code init} (an SFT model, given a fresh score head) on
     * preference pairs, the reward-scorer's trainer doing the work.
     */
    public static RewardModelTrainer.Result rewardModel(List<PreferencePair> pairs, Path init, Path out,
                                                        RmTrainConfig cfg, Device device, Consumer<String> progress)
            throws IOException {
        return rewardModel(RewardModelTrainer.split(pairs, cfg.heldOutFraction(), cfg.seed()), init, out, cfg, device,
                progress);
    }

    /** As above, on a train/held-out split the caller made. */
    public static RewardModelTrainer.Result rewardModel(RewardModelTrainer.Split split, Path init, Path out,
                                                        RmTrainConfig cfg, Device device, Consumer<String> progress)
            throws IOException {
        Path tmp = fresh(out);
        RewardModelTrainer.Result r;
        try (CausalLm model = CausalLms.load(init, GptModel.Head.SCORE, device)) {
            r = RewardModelTrainer.train(model, split, cfg, progress);
            model.save(tmp);
        }
        for (String f : List.of(SalsaTokenizer.TOKENIZER_JSON, SalsaTokenizer.TOKENIZER_CONFIG_JSON)) {
            if (Files.isRegularFile(init.resolve(f))) {
                Files.copy(init.resolve(f), tmp.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        publish(tmp, out);
        return r;
    }

    /** The task's offline preference pairs (judged by the simulated rater), tokenised for reward-model training. */
    public static List<PreferencePair> taskPreferences(Path taskDir, SalsaTokenizer tokenizer) throws IOException {
        return PreferenceData.readJsonl(taskDir.resolve("preferences.jsonl"), tokenizer);
    }

    /**
     * Scores (prompt, response) pairs with a reward model exactly as the reward scorer does
     * ({@code prompt ++ response}, the last {@code n_positions} tokens, score head on the last real token).
     */
    public static float[] rewardScores(CausalLm rewardModel, List<int[]> prompts, List<int[]> responses) {
        int max = rewardModel.maxPositions();
        List<int[]> sequences = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            sequences.add(RewardSequences.join(prompts.get(i), responses.get(i), max));
        }
        RewardSequences.Batch b = RewardSequences.pad(sequences, rewardModel.padTokenId());
        try (var scope = rewardModel.newScope()) {
            return rewardModel.scores(scope.create(b.ids()), scope.create(b.mask())).toFloatArray();
        }
    }

    private static Path fresh(Path out) throws IOException {
        if (exists(out)) {
            throw new IOException(out + " already holds a model");
        }
        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
        FileOps.deleteTree(tmp);
        FileOps.deleteTree(out);
        Files.createDirectories(tmp.getParent());
        return tmp;
    }

    private static void publish(Path tmp, Path out) throws IOException {
        FileOps.moveAtomically(tmp, out);
    }
}
