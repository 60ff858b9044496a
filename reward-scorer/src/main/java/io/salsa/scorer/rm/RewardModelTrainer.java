package io.salsa.scorer.rm;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.training.GradientCollector;
import io.salsa.model.lm.GptModel;
import io.salsa.model.train.AdamW;
import io.salsa.model.train.Gradients;
import io.salsa.model.train.LrSchedule;
import io.salsa.scorer.RewardSequences;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Trains a GPT-2 reward model (backbone + scalar score head) on preference pairs with the Bradley–Terry loss,
 * and measures held-out pairwise accuracy before and after.
 *
 * <p>Deterministic like the SFT trainer: the split and the data order come from Java RNGs seeded with the
 * config's seed, the model has no dropout, and PyTorch's CPU kernels are deterministic for a fixed thread
 * count, so the same init, data, seed and machine give identical weights.
 */
public final class RewardModelTrainer {

    private static final long PROGRESS_EVERY_NANOS = 2_000_000_000L;
    /** Non-finite steps in a row after which training stops instead of skipping. */
    static final int MAX_CONSECUTIVE_SKIPS = 5;

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
        List<String> groups = new ArrayList<>(new TreeSet<>(pairs.stream().map(PreferencePair::group).toList()));
        Collections.shuffle(groups, new Random(seed));
        int held = (int) Math.round(groups.size() * fraction);
        if (fraction > 0 && held == 0 && groups.size() >= 2) {
            held = 1;
        }
        java.util.Set<String> heldGroups = new java.util.HashSet<>(groups.subList(0, held));
        List<PreferencePair> train = new ArrayList<>();
        List<PreferencePair> heldOut = new ArrayList<>();
        for (PreferencePair p : pairs) {
            (heldGroups.contains(p.group()) ? heldOut : train).add(p);
        }
        return new Split(train, heldOut);
    }

    /** Steps a run over {@code pairs} pairs will take. */
    public static int plannedSteps(int pairs, RmTrainConfig cfg) {
        long perEpoch = (pairs + cfg.batchSize() - 1) / cfg.batchSize();
        long total = perEpoch * cfg.epochs();
        if (cfg.maxSteps() > 0) {
            total = Math.min(total, cfg.maxSteps());
        }
        return (int) Math.min(Integer.MAX_VALUE, total);
    }

    /** Trains {@code model} (a {@link GptModel.Head#SCORE} model) in place. */
    public static Result train(GptModel model, Split split, RmTrainConfig cfg, Consumer<String> progress) {
        if (model.head() != GptModel.Head.SCORE) {
            throw new IllegalArgumentException("reward-model training needs a Head.SCORE model, got " + model.head());
        }
        if (split.train().isEmpty()) {
            throw new IllegalArgumentException("no training pairs");
        }
        Evaluation before = evaluate(model, split.heldOut(), cfg.batchSize());
        progress.accept(String.format(Locale.ROOT, "held-out before training: accuracy %.3f over %d strict pairs, "
                + "loss %.4f", before.accuracy(), before.strictPairs(), before.loss()));
        int total = plannedSteps(split.train().size(), cfg);
        LrSchedule schedule = LrSchedule.linear(cfg.lr(), Math.min(cfg.warmupSteps(), total), total);
        Random order = new Random(cfg.seed());
        boolean wasTrainable = model.isTrainable();
        model.setTrainable(true);
        long t0 = System.nanoTime();
        long lastReport = 0;
        double lastLoss = Double.NaN;
        long pairsSeen = 0;
        int step = 0;
        int skipped = 0;
        int consecutiveSkips = 0;
        try (AdamW opt = AdamW.withDefaults(model.parameters(), cfg.weightDecay())) {
            outer:
            for (int epoch = 0; epoch < cfg.epochs(); epoch++) {
                List<PreferencePair> shuffled = new ArrayList<>(split.train());
                Collections.shuffle(shuffled, order);
                for (int from = 0; from < shuffled.size(); from += cfg.batchSize()) {
                    if (step >= total) {
                        break outer;
                    }
                    List<PreferencePair> batch = shuffled.subList(from, Math.min(shuffled.size(), from + cfg.batchSize()));
                    lastLoss = trainStep(model, batch);
                    double lr = schedule.lr(step);
                    double norm = Gradients.clipGlobalNorm(model.parameters().values(), cfg.maxGradNorm());
                    if (!Double.isFinite(lastLoss) || !Double.isFinite(norm)) {
                        // A non-finite gradient would turn every weight into NaN: skip the step, as AMP's
                        // GradScaler does, and give up only if it keeps happening.
                        Gradients.zero(model.parameters().values());
                        skipped++;
                        consecutiveSkips++;
                        progress.accept(String.format(Locale.ROOT, "step %d: loss %s, gradient norm %s: step "
                                + "skipped (%d so far)", step + 1, lastLoss, norm, skipped));
                        if (consecutiveSkips >= MAX_CONSECUTIVE_SKIPS) {
                            throw new IllegalStateException(consecutiveSkips + " steps in a row had a non-finite "
                                    + "loss or gradient at step " + (step + 1) + "; lower --lr (now " + cfg.lr() + ")");
                        }
                        step++;
                        continue;
                    }
                    consecutiveSkips = 0;
                    opt.step(lr);
                    Gradients.zero(model.parameters().values());
                    step++;
                    pairsSeen += batch.size();
                    long now = System.nanoTime();
                    if (step == 1 || step == total || now - lastReport >= PROGRESS_EVERY_NANOS) {
                        lastReport = now;
                        double secs = (now - t0) / 1e9;
                        progress.accept(String.format(Locale.ROOT,
                                "step %d/%d  epoch %d  bt-loss %.4f  lr %.2e  grad-norm %.3f  %.1f pairs/s  ETA %.0fs",
                                step, total, epoch + 1, lastLoss, lr, norm, pairsSeen / Math.max(secs, 1e-9),
                                secs / step * (total - step)));
                    }
                }
            }
        } finally {
            Gradients.zero(model.parameters().values());
            model.setTrainable(wasTrainable);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        Evaluation after = evaluate(model, split.heldOut(), cfg.batchSize());
        progress.accept(String.format(Locale.ROOT, "held-out after training: accuracy %.3f over %d strict pairs, "
                + "loss %.4f", after.accuracy(), after.strictPairs(), after.loss()));
        return new Result(step, skipped, split.train().size(), before, after, lastLoss, seconds);
    }

    /** One forward/backward over a batch of pairs; returns the loss (gradients stay on the parameters). */
    static double trainStep(GptModel model, List<PreferencePair> batch) {
        int n = batch.size();
        RewardSequences.Batch b = RewardSequences.pad(sequences(model, batch), model.config().padTokenId());
        float[] targets = new float[n];
        for (int i = 0; i < n; i++) {
            targets[i] = batch.get(i).target();
        }
        try (NDManager scope = model.newScope()) {
            NDArray ids = scope.create(b.ids());
            NDArray mask = scope.create(b.mask());
            NDArray target = scope.create(targets);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray scores = model.scores(ids, mask);
                NDArray loss = BradleyTerry.loss(scores.get(new NDIndex("0:" + n)), scores.get(new NDIndex(n + ":")),
                        target);
                gc.backward(loss);
                return loss.getFloat();
            }
        }
    }

    /** Chosen sequences, then rejected ones, each cut to the model's context from the left. */
    private static List<int[]> sequences(GptModel model, List<PreferencePair> batch) {
        int max = model.config().nPositions();
        List<int[]> seqs = new ArrayList<>(2 * batch.size());
        batch.forEach(p -> seqs.add(RewardSequences.tail(p.chosen(), max)));
        batch.forEach(p -> seqs.add(RewardSequences.tail(p.rejected(), max)));
        return seqs;
    }

    /** Held-out accuracy and loss, without gradients. */
    public static Evaluation evaluate(GptModel model, List<PreferencePair> pairs, int batchSize) {
        float[] chosen = new float[pairs.size()];
        float[] rejected = new float[pairs.size()];
        boolean[] tie = new boolean[pairs.size()];
        for (int from = 0; from < pairs.size(); from += batchSize) {
            List<PreferencePair> batch = pairs.subList(from, Math.min(pairs.size(), from + batchSize));
            RewardSequences.Batch b = RewardSequences.pad(sequences(model, batch), model.config().padTokenId());
            float[] s;
            try (NDManager scope = model.newScope()) {
                s = model.scores(scope.create(b.ids()), scope.create(b.mask())).toFloatArray();
            }
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
