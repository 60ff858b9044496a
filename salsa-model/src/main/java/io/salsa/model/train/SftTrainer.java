package io.salsa.model.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.salsa.model.lm.GptModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Supervised fine-tuning of a {@link GptModel}: next-token cross-entropy on response tokens only, AdamW with
 * linear warm-up and decay, global-norm clipping, and a progress line with loss, tokens/s and ETA.
 *
 * <p>Deterministic: the data order comes from a Java {@link Random} seeded with the config's seed, the
 * model has no dropout, and PyTorch's CPU kernels are deterministic for a fixed thread count, so the same
 * base, data, seed and machine give bit-identical weights.
 */
public final class SftTrainer {

    /** Progress lines at most this often (plus the first and last step). */
    private static final long PROGRESS_EVERY_NANOS = 2_000_000_000L;

    private SftTrainer() {
    }

    /**
     * What a run did.
     *
     * @param steps           optimiser steps taken
     * @param tokens          real tokens processed (prompt + response)
     * @param finalTrainLoss  mean loss of the last step
     * @param finalEvalLoss   token-weighted response NLL on the eval set after training (NaN if none)
     * @param seconds         wall time of the training loop
     */
    public record Result(int steps, long tokens, double finalTrainLoss, double finalEvalLoss, double seconds) {
        /** Training throughput. */
        public double tokensPerSecond() {
            return seconds > 0 ? tokens / seconds : 0;
        }
    }

    /** Number of optimiser steps a run over {@code examples} sequences will take. */
    public static int plannedSteps(int examples, SftConfig cfg) {
        long perEpoch = (examples + cfg.batchSize() - 1) / cfg.batchSize();
        long total = perEpoch * cfg.epochs();
        if (cfg.maxSteps() > 0) {
            total = Math.min(total, cfg.maxSteps());
        }
        return (int) Math.min(Integer.MAX_VALUE, total);
    }

    /** Trains {@code model} in place on {@code train}, then measures the eval loss on {@code eval}. */
    public static Result train(GptModel model, List<SftData.Sequence> train, List<SftData.Sequence> eval, SftConfig cfg,
                               Consumer<String> progress) {
        if (train.isEmpty()) {
            throw new IllegalArgumentException("no training sequences (every response was cut off by n_positions?)");
        }
        int padId = model.config().padTokenId();
        int total = plannedSteps(train.size(), cfg);
        LrSchedule schedule = LrSchedule.linear(cfg.lr(), Math.min(cfg.warmupSteps(), total), total);
        Random order = new Random(cfg.seed());
        boolean wasTrainable = model.isTrainable();
        model.setTrainable(true);
        long t0 = System.nanoTime();
        long lastReport = 0;
        long tokens = 0;
        double lastLoss = Double.NaN;
        int step = 0;
        try (AdamW opt = AdamW.withDefaults(model.parameters(), cfg.weightDecay())) {
            outer:
            for (int epoch = 0; epoch < cfg.epochs(); epoch++) {
                List<SftData.Sequence> shuffled = new ArrayList<>(train);
                java.util.Collections.shuffle(shuffled, order);
                for (int from = 0; from < shuffled.size(); from += cfg.batchSize()) {
                    if (step >= total) {
                        break outer;
                    }
                    SftBatch batch = SftBatch.of(shuffled.subList(from, Math.min(shuffled.size(), from + cfg.batchSize())), padId);
                    lastLoss = trainStep(model, batch);
                    if (!Double.isFinite(lastLoss)) {
                        throw new IllegalStateException("loss became " + lastLoss + " at step " + (step + 1)
                                + "; lower --lr (now " + cfg.lr() + ")");
                    }
                    double lr = schedule.lr(step);
                    double norm = Gradients.clipGlobalNorm(model.parameters().values(), cfg.maxGradNorm());
                    opt.step(lr);
                    Gradients.zero(model.parameters().values());
                    step++;
                    tokens += batch.tokens();
                    long now = System.nanoTime();
                    if (step == 1 || step == total || now - lastReport >= PROGRESS_EVERY_NANOS) {
                        lastReport = now;
                        double secs = (now - t0) / 1e9;
                        double eta = secs / step * (total - step);
                        progress.accept(String.format(java.util.Locale.ROOT,
                                "step %d/%d  epoch %d  loss %.4f  lr %.2e  grad-norm %.3f  %.0f tok/s  ETA %s",
                                step, total, epoch + 1, lastLoss, lr, norm, tokens / Math.max(secs, 1e-9), duration(eta)));
                    }
                }
            }
        } finally {
            Gradients.zero(model.parameters().values());
            model.setTrainable(wasTrainable);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double evalLoss = eval.isEmpty() ? Double.NaN : evalLoss(model, eval, cfg.batchSize());
        return new Result(step, tokens, lastLoss, evalLoss, seconds);
    }

    /** One forward/backward on a batch; returns the loss (gradients are left on the parameters). */
    public static double trainStep(GptModel model, SftBatch batch) {
        try (NDManager scope = model.newScope()) {
            NDArray ids = scope.create(batch.ids());
            NDArray mask = scope.create(batch.mask());
            NDArray lossMask = scope.create(batch.lossMask());
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray loss = LmLoss.nextTokenLoss(model, ids, mask, lossMask);
                gc.backward(loss);
                return loss.getFloat();
            }
        }
    }

    /** Token-weighted mean negative log-likelihood of the response tokens (and EOS), without gradients. */
    public static double evalLoss(GptModel model, List<SftData.Sequence> sequences, int batchSize) {
        double sum = 0;
        double count = 0;
        int padId = model.config().padTokenId();
        for (int from = 0; from < sequences.size(); from += batchSize) {
            SftBatch batch = SftBatch.of(sequences.subList(from, Math.min(sequences.size(), from + batchSize)), padId);
            try (NDManager scope = model.newScope()) {
                NDArray ids = scope.create(batch.ids());
                NDArray lossMask = scope.create(batch.lossMask());
                NDArray logp = GptModel.logProbsOfNext(model.forward(ids, scope.create(batch.mask())).logits(), ids);
                sum += logp.mul(lossMask).sum().getFloat() * -1.0;
                count += lossMask.sum().getFloat();
            }
        }
        return count == 0 ? Double.NaN : sum / count;
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 60 ? (s / 60) + "m" + String.format("%02d", s % 60) + "s" : s + "s";
    }
}
