package io.salsa.scorer.rm;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import io.salsa.model.lm.Adaptable;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.lora.LoraAdapter;
import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.train.NonFinitePolicy;
import io.salsa.model.train.SupervisedTrainer;
import io.salsa.scorer.RewardModelEnsemble;
import io.salsa.scorer.RewardSequences;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Trains a reward model (any {@link CausalLm} backbone + the scalar {@code score} head) on preference pairs with the Bradley–Terry loss in
 * the shared {@link SupervisedTrainer} loop (the same batching order, schedule, clipping, AdamW and non-finite
 * policy as SFT), and measures held-out pairwise accuracy before and after.
 *
 * <p>Deterministic like the SFT trainer: the split and the data order come from Java RNGs seeded with the
 * config's seed, the model has no dropout, and PyTorch's CPU kernels are deterministic for a fixed thread
 * count, so the same init, data, seed and machine give identical weights.
 */
public final class RewardModelTrainer {

    /** Progress line: Bradley–Terry loss, pairs per second, ETA in seconds. */
    static final SupervisedTrainer.ProgressFormat PROGRESS =
            new SupervisedTrainer.ProgressFormat("bt-loss", "pairs/s", 1, false);

    private RewardModelTrainer() {
    }

    /** Pairs split by prompt, so no held-out prompt was seen in training. */
    public record Split(List<PreferencePair> train, List<PreferencePair> heldOut) {
    }

    /**
     * Held-out quality of a model.
     *
     * @param pairs       pairs evaluated (ties included)
     * @param strictPairs pairs with a strict preference (what accuracy is over)
     * @param accuracy    share of strict pairs ranked right (NaN without strict pairs)
     * @param loss        mean Bradley–Terry loss over all pairs (ties with target ½)
     */
    public record Evaluation(int pairs, int strictPairs, double accuracy, double loss) {
    }

    /**
     * What a run did.
     *
     * @param steps      steps taken (including skipped ones)
     * @param skipped    steps skipped because the loss or the gradient was not finite
     * @param trainPairs pairs trained on
     * @param before     held-out evaluation of the initial model
     * @param after      held-out evaluation after training
     * @param finalLoss  training loss of the last step
     * @param seconds    wall time of the training loop
     */
    public record Result(int steps, int skipped, int trainPairs, Evaluation before, Evaluation after, double finalLoss,
                         double seconds) {
    }

    /**
     * Holds out the pairs of a {@code fraction} of the distinct prompts, chosen with {@code seed}; at least one
     * prompt is held out when the fraction is positive and there are two or more prompts.
     */
    public static Split split(List<PreferencePair> pairs, double fraction, long seed) {
        return split(pairs, pairs.stream().map(PreferencePair::group).toList(), fraction, seed);
    }

    /**
     * Holds out the pairs of a {@code fraction} of {@code groups} (the prompts the pairs were asked about, whether or
     * not each has pairs), chosen with {@code seed}. The held-out prompts depend only on that list, not on which of
     * its prompts happen to have pairs: when raters leave a different few pairs unrated, the same prompts stay held
     * out. A pair whose group is not in the list is trained on.
     */
    public static Split split(List<PreferencePair> pairs, java.util.Collection<String> groups, double fraction,
                              long seed) {
        List<String> shuffled = new ArrayList<>(new TreeSet<>(groups));
        Collections.shuffle(shuffled, new Random(seed));
        int held = (int) Math.round(shuffled.size() * fraction);
        if (fraction > 0 && held == 0 && shuffled.size() >= 2) {
            held = 1;
        }
        java.util.Set<String> heldGroups = new java.util.HashSet<>(shuffled.subList(0, held));
        List<PreferencePair> train = new ArrayList<>();
        List<PreferencePair> heldOut = new ArrayList<>();
        for (PreferencePair p : pairs) {
            (heldGroups.contains(p.group()) ? heldOut : train).add(p);
        }
        return new Split(train, heldOut);
    }

    /** Steps a run over {@code pairs} pairs will take. */
    public static int plannedSteps(int pairs, RmTrainConfig cfg) {
        return SupervisedTrainer.plannedSteps(pairs, settings(cfg));
    }

    /** Trains {@code model} (a {@link GptModel.Head#SCORE} model of any architecture) in place. */
    public static Result train(CausalLm model, Split split, RmTrainConfig cfg, Consumer<String> progress) {
        return train(model, null, split, cfg, progress);
    }

    /**
     * LoRA reward-model training: an adapter (seeded with the config's seed) on the frozen backbone, trained together
     * with the {@code score} head, then merged into the backbone ({@link LoraAdapter#merge()}), so {@code model} ends
     * as a plain reward model that saves as a full folder the scorer loads unchanged.
     *
     * @throws IllegalArgumentException a model that takes no adapters, or a target it does not have (naming the ones
     *                                  it has)
     */
    public static Result trainLora(CausalLm model, LoraConfig lora, Split split, RmTrainConfig cfg,
                                   Consumer<String> progress) {
        if (!(model instanceof Adaptable adaptable)) {
            throw new IllegalArgumentException("--lora: a " + model.modelType() + " model cannot take LoRA adapters");
        }
        LoraAdapter adapter;
        try {
            adapter = LoraAdapter.create(adaptable, lora, cfg.seed());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--lora: " + e.getMessage(), e);
        }
        try {
            progress.accept(String.format(Locale.ROOT, "LoRA r=%d alpha=%s on %s + the score head: %,d trainable "
                    + "parameters, backbone frozen", lora.r(), lora.alpha(), adapter.config().targetModules(),
                    adapter.parameterCount() + model.parameters().get(GptModel.SCORE_WEIGHT).getArray().size()));
            if (lora.dropout() > 0) {
                Engine.getInstance().setRandomSeed((int) cfg.seed()); // dropout masks repeat with the seed
            }
            Result r = train(model, adapter, split, cfg, progress);
            adapter.merge();
            return r;
        } finally {
            adapter.close();
        }
    }

    private static Result train(CausalLm model, LoraAdapter adapter, Split split, RmTrainConfig cfg,
                                Consumer<String> progress) {
        if (model.head() != GptModel.Head.SCORE) {
            throw new IllegalArgumentException("reward-model training needs a Head.SCORE model, got " + model.head());
        }
        if (split.train().isEmpty()) {
            throw new IllegalArgumentException("no training pairs");
        }
        Evaluation before = evaluate(model, split.heldOut(), cfg.batchSize());
        progress.accept(String.format(Locale.ROOT, "held-out before training: accuracy %.3f over %d strict pairs, "
                + "loss %.4f", before.accuracy(), before.strictPairs(), before.loss()));
        Map<String, Parameter> trainable = null;
        if (adapter != null) {
            trainable = new LinkedHashMap<>(adapter.parameters());
            trainable.put(GptModel.SCORE_WEIGHT, model.parameters().get(GptModel.SCORE_WEIGHT));
            adapter.setTraining(true);
        }
        SupervisedTrainer.Result r;
        try (SupervisedTrainer<PreferencePair> trainer = new SupervisedTrainer<>(model, trainable, objective(),
                settings(cfg), PROGRESS, progress)) {
            r = trainer.train(split.train());
        } finally {
            if (adapter != null) {
                adapter.setTraining(false);
            }
        }
        Evaluation after = evaluate(model, split.heldOut(), cfg.batchSize());
        progress.accept(String.format(Locale.ROOT, "held-out after training: accuracy %.3f over %d strict pairs, "
                + "loss %.4f", after.accuracy(), after.strictPairs(), after.loss()));
        return new Result(r.steps(), r.skipped(), split.train().size(), before, after, r.finalLoss(), r.seconds());
    }

    /** The shared loop's settings for {@code cfg}, with the default non-finite policy. */
    static SupervisedTrainer.Settings settings(RmTrainConfig cfg) {
        return new SupervisedTrainer.Settings(cfg.epochs(), cfg.lr(), cfg.batchSize(), cfg.warmupSteps(),
                cfg.maxSteps(), cfg.maxGradNorm(), cfg.weightDecay(), cfg.seed(),
                NonFinitePolicy.DEFAULT_MAX_CONSECUTIVE_SKIPS);
    }

    /**
     * The Bradley–Terry objective: each batch of pairs is scored as one padded batch, chosen sequences first, and
     * the loss is the mean over pairs (ties with target ½).
     */
    static SupervisedTrainer.Objective<PreferencePair> objective() {
        return new SupervisedTrainer.Objective<>() {
            @Override
            public NDArray loss(CausalLm model, NDManager scope, List<PreferencePair> batch) {
                int n = batch.size();
                RewardSequences.Batch b = RewardSequences.pad(sequences(model, batch), model);
                float[] targets = new float[n];
                for (int i = 0; i < n; i++) {
                    targets[i] = batch.get(i).target();
                }
                NDArray ids = scope.create(b.ids());
                NDArray mask = scope.create(b.mask());
                NDArray target = scope.create(targets);
                NDArray scores = model.scores(ids, mask);
                return BradleyTerry.loss(scores.get(new NDIndex("0:" + n)), scores.get(new NDIndex(n + ":")), target);
            }

            @Override
            public long units(List<PreferencePair> batch) {
                return batch.size();
            }
        };
    }

    /** Chosen sequences, then rejected ones, each cut to the model's context from the left. */
    private static List<int[]> sequences(CausalLm model, List<PreferencePair> batch) {
        int max = model.maxPositions();
        List<int[]> seqs = new ArrayList<>(2 * batch.size());
        batch.forEach(p -> seqs.add(RewardSequences.tail(p.chosen(), max)));
        batch.forEach(p -> seqs.add(RewardSequences.tail(p.rejected(), max)));
        return seqs;
    }

    /** Held-out accuracy and loss, without gradients. */
    public static Evaluation evaluate(CausalLm model, List<PreferencePair> pairs, int batchSize) {
        return evaluate(List.of(model), pairs, batchSize);
    }

    /**
     * Held-out accuracy and loss of an output ensemble: each pair scored by the mean of the members' scores, as
     * {@link RewardModelEnsemble} scores rollouts (one member: exactly {@link #evaluate(CausalLm, List, int)}).
     */
    public static Evaluation evaluate(List<? extends CausalLm> members, List<PreferencePair> pairs, int batchSize) {
        float[] chosen = new float[pairs.size()];
        float[] rejected = new float[pairs.size()];
        boolean[] tie = new boolean[pairs.size()];
        for (int from = 0; from < pairs.size(); from += batchSize) {
            List<PreferencePair> batch = pairs.subList(from, Math.min(pairs.size(), from + batchSize));
            List<float[]> memberScores = new ArrayList<>(members.size());
            for (CausalLm model : members) {
                RewardSequences.Batch b = RewardSequences.pad(sequences(model, batch), model);
                try (NDManager scope = model.newScope()) {
                    memberScores.add(model.scores(scope.create(b.ids()), scope.create(b.mask())).toFloatArray());
                }
            }
            float[] s = RewardModelEnsemble.mean(memberScores, 2 * batch.size());
            for (int i = 0; i < batch.size(); i++) {
                chosen[from + i] = s[i];
                rejected[from + i] = s[batch.size() + i];
                tie[from + i] = batch.get(i).tie();
            }
        }
        double loss = 0;
        int strict = 0;
        for (int i = 0; i < pairs.size(); i++) {
            loss += BradleyTerry.loss(chosen[i], rejected[i], pairs.get(i).target());
            strict += tie[i] ? 0 : 1;
        }
        return new Evaluation(pairs.size(), strict, BradleyTerry.accuracy(chosen, rejected, tie),
                pairs.isEmpty() ? Double.NaN : loss / pairs.size());
    }
}
