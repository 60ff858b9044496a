package io.salsa.model.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.GptModel;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Supervised fine-tuning (and pretraining) of any {@link CausalLm} (GPT-2, the Llama family): next-token cross-entropy on response tokens only,
 * trained by the shared {@link SupervisedTrainer} (AdamW with linear warm-up and decay, global-norm clipping, the
 * non-finite policy, a progress line with loss, tokens/s and ETA), then the eval loss.
 *
 * <p>Deterministic: the data order comes from a Java {@link java.util.Random} seeded with the config's seed, the
 * model has no dropout, and PyTorch's CPU kernels are deterministic for a fixed thread count, so the same
 * base, data, seed and machine give bit-identical weights.
 */
public final class SftTrainer {

    private SftTrainer() {
    }

    /**
     * What a run did.
     *
     * @param steps           steps run (optimiser updates plus skipped steps)
     * @param tokens          real tokens processed in the steps taken (prompt + response)
     * @param finalTrainLoss  mean loss of the last step
     * @param finalEvalLoss   token-weighted response NLL on the eval set after training (NaN if none)
     * @param seconds         wall time of the training loop
     * @param skipped         steps skipped because the loss or the gradient was not finite
     */
    public record Result(int steps, long tokens, double finalTrainLoss, double finalEvalLoss, double seconds,
                         int skipped) {
        /** Training throughput. */
        public double tokensPerSecond() {
            return seconds > 0 ? tokens / seconds : 0;
        }
    }

    /** Number of optimiser steps a run over {@code examples} sequences will take. */
    public static int plannedSteps(int examples, SftConfig cfg) {
        return SupervisedTrainer.plannedSteps(examples, cfg.settings());
    }

    /** Trains {@code model} in place on {@code train}, then measures the eval loss on {@code eval}. */
    public static Result train(CausalLm model, List<SftData.Sequence> train, List<SftData.Sequence> eval, SftConfig cfg,
                               Consumer<String> progress) {
        return train(model, null, train, eval, cfg, progress);
    }

    /**
     * Trains only {@code trainable} of {@code model} (a LoRA adapter's A and B; null = every weight), then measures
     * the eval loss on {@code eval}.
     */
    public static Result train(CausalLm model, Map<String, Parameter> trainable, List<SftData.Sequence> train,
                               List<SftData.Sequence> eval, SftConfig cfg, Consumer<String> progress) {
        if (train.isEmpty()) {
            throw new IllegalArgumentException("no training sequences (every response was cut off by n_positions?)");
        }
        SupervisedTrainer.Result r;
        try (SupervisedTrainer<SftData.Sequence> trainer = new SupervisedTrainer<>(model, trainable,
                objective(model.padTokenId()), cfg.settings(), SupervisedTrainer.ProgressFormat.TOKENS,
                progress)) {
            r = trainer.train(train);
        }
        double evalLoss = eval.isEmpty() ? Double.NaN : evalLoss(model, eval, cfg.batchSize());
        return new Result(r.steps(), r.units(), r.finalLoss(), evalLoss, r.seconds(), r.skipped());
    }

    /** The LM objective: mean next-token loss on the response tokens (and EOS) of right-padded sequences. */
    public static SupervisedTrainer.Objective<SftData.Sequence> objective(int padId) {
        return new SupervisedTrainer.Objective<>() {
            @Override
            public NDArray loss(CausalLm model, NDManager scope, List<SftData.Sequence> batch) {
                return batchLoss(model, scope, SftBatch.of(batch, padId));
            }

            @Override
            public long units(List<SftData.Sequence> batch) {
                long tokens = 0;
                for (SftData.Sequence s : batch) {
                    tokens += s.ids().length;
                }
                return tokens;
            }
        };
    }

    /** One forward/backward on a batch; returns the loss (gradients are left on the parameters). */
    public static double trainStep(CausalLm model, SftBatch batch) {
        try (NDManager scope = model.newScope()) {
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray loss = batchLoss(model, scope, batch);
                gc.backward(loss);
                return loss.getFloat();
            }
        }
    }

    private static NDArray batchLoss(CausalLm model, NDManager scope, SftBatch batch) {
        NDArray ids = scope.create(batch.ids());
        NDArray mask = scope.create(batch.mask());
        NDArray lossMask = scope.create(batch.lossMask());
        return LmLoss.nextTokenLoss(model, ids, mask, lossMask);
    }

    /** Token-weighted mean negative log-likelihood of the response tokens (and EOS), without gradients. */
    public static double evalLoss(CausalLm model, List<SftData.Sequence> sequences, int batchSize) {
        double sum = 0;
        double count = 0;
        int padId = model.padTokenId();
        for (int from = 0; from < sequences.size(); from += batchSize) {
            SftBatch batch = SftBatch.of(sequences.subList(from, Math.min(sequences.size(), from + batchSize)), padId);
            try (NDManager scope = model.newScope()) {
                NDArray ids = scope.create(batch.ids());
                NDArray lossMask = scope.create(batch.lossMask());
                NDArray logp = GptModel.logProbsOfNext(model.run(ids, scope.create(batch.mask())).logits(), ids);
                sum += logp.mul(lossMask).sum().getFloat() * -1.0;
                count += lossMask.sum().getFloat();
            }
        }
        return count == 0 ? Double.NaN : sum / count;
    }
}
