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
import io.salsa.scorer.RewardModelEnsemble;
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

    /** True when {@code dir} holds a finished model folder (or reward-model ensemble, {@link RewardModelEnsemble}). */
    public static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve("model.safetensors")) && Files.isRegularFile(dir.resolve("config.json"))
                || RewardModelEnsemble.isEnsemble(dir);
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
        copyTokenizer(init, tmp);
        publish(tmp, out);
        return r;
    }

    /**
     * What {@link #rewardModelEnsemble} trained: each member's own run, and the ensemble's held-out evaluation.
     *
     * @param members each member's training result, in member order
     * @param after   the ensemble's held-out evaluation (the mean of the members' scores)
     * @param seconds wall time of the whole ensemble
     */
    public record EnsembleResult(List<RewardModelTrainer.Result> members, RewardModelTrainer.Evaluation after,
                                 double seconds) {

        /** The ensemble as one training result: members' steps and skips summed, the ensemble's evaluation. */
        public RewardModelTrainer.Result combined() {
            RewardModelTrainer.Result first = members.get(0);
            return new RewardModelTrainer.Result(members.stream().mapToInt(RewardModelTrainer.Result::steps).sum(),
                    members.stream().mapToInt(RewardModelTrainer.Result::skipped).sum(), first.trainPairs(),
                    first.before(), after,
                    members.stream().mapToDouble(RewardModelTrainer.Result::finalLoss).average().orElse(Double.NaN),
                    seconds);
        }
    }

    /**
     * Trains an output ensemble of reward models ({@link RewardModelEnsemble}, the scorer's mean of their scores),
     * one per entry of {@code inits}, all on the same split: member {@code m} from {@code inits[m − 1]} (given a
     * fresh score head) in the data order of seed {@code cfg.seed() + 1000 (m − 1)} — member 1 is the model
     * {@link #rewardModel} trains from that init. One after another (DJL records gradients for one training at a
     * time per process). Writes {@code out/member-m} folders and the manifest, atomically.
     */
    public static EnsembleResult rewardModelEnsemble(RewardModelTrainer.Split split, List<Path> inits, Path out,
                                                     RmTrainConfig cfg, Device device, Consumer<String> progress)
            throws IOException {
        int members = inits.size();
        if (members < 1) {
            throw new IllegalArgumentException("a reward-model ensemble needs at least one member");
        }
        long t0 = System.nanoTime();
        Path tmp = fresh(out);
        List<CausalLm> models = new ArrayList<>();
        try {
            List<RewardModelTrainer.Result> results = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (int m = 0; m < members; m++) {
                Path init = inits.get(m);
                CausalLm model = CausalLms.load(init, GptModel.Head.SCORE, device);
                models.add(model);
                String prefix = members == 1 ? "" : "member " + (m + 1) + "/" + members + ": ";
                results.add(RewardModelTrainer.train(model, split, cfg.withSeed(cfg.seed() + 1000L * m),
                        line -> progress.accept(prefix + line)));
                String name = "member-" + (m + 1);
                model.save(Files.createDirectories(tmp.resolve(name)));
                copyTokenizer(init, tmp.resolve(name));
                names.add(name);
            }
            RewardModelTrainer.Evaluation after = RewardModelTrainer.evaluate(models, split.heldOut(),
                    cfg.batchSize());
            if (members > 1) {
                progress.accept(String.format(java.util.Locale.ROOT, "held-out, ensemble of %d (mean score): "
                        + "accuracy %.3f over %d strict pairs, loss %.4f", members, after.accuracy(),
                        after.strictPairs(), after.loss()));
            }
            RewardModelEnsemble.writeManifest(tmp, names);
            publish(tmp, out);
            return new EnsembleResult(results, after, (System.nanoTime() - t0) / 1e9);
        } finally {
            models.forEach(CausalLm::close);
        }
    }

    private static void copyTokenizer(Path from, Path to) throws IOException {
        for (String f : List.of(SalsaTokenizer.TOKENIZER_JSON, SalsaTokenizer.TOKENIZER_CONFIG_JSON)) {
            if (Files.isRegularFile(from.resolve(f))) {
                Files.copy(from.resolve(f), to.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
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
