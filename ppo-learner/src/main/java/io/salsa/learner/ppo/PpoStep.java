package io.salsa.learner.ppo;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.salsa.model.generate.SampledLogprobs;
import io.salsa.model.lm.Scalars;
import io.salsa.model.train.AdamW;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * One PPO step over a batch of scored rollouts, as TRL's {@code PPOTrainer.train} does it: old log-probs and
 * values from the policy, reference log-probs from the soup, per-token KL-penalised rewards, GAE, whitened
 * advantages, then {@code ppo_epochs} passes of shuffled mini-batches with the clipped losses, global-norm
 * clipping and AdamW. Every tensor stays on the model's device; the only host transfers are the metrics at the end
 * and one flag per optimiser step ({@link GradScaler}: the fp16 overflow check, or in float32 the non-finite
 * gradient check that skips such a step and counts it in {@link Result#skippedNonFinite}).
 */
public final class PpoStep {

    private final PpoConfig config;
    private final PpoModel model;
    private final AdamW optimizer;
    private final GradScaler scaler;
    private final NDManager manager;

    /**
     * A step with a loss scaler of its own made from the config ({@code mixed_precision}, {@code loss_scale_*}).
     *
     * @param manager where the step's device arrays are created (the model's manager or a child of it)
     */
    public PpoStep(PpoConfig config, PpoModel model, AdamW optimizer, NDManager manager) {
        this(config, model, optimizer, GradScaler.fromConfig(config), manager);
    }

    /**
     * @param scaler  loss scaling for fp16 (its state is checkpointed by the owner); a disabled one for float32
     * @param manager where the step's device arrays are created (the model's manager or a child of it)
     */
    public PpoStep(PpoConfig config, PpoModel model, AdamW optimizer, GradScaler scaler, NDManager manager) {
        this.config = config;
        this.model = model;
        this.optimizer = optimizer;
        this.scaler = scaler;
        this.manager = manager;
    }

    /**
     * The optimiser PPO steps with: the model library's AdamW in its {@link AdamW.Arithmetic#TORCH} arithmetic (the
     * learner's checkpoints and replays were made with it) and the config's β, ε and weight decay.
     */
    public static AdamW optimizer(List<NDArray> params, PpoConfig config) {
        return new AdamW(params, config.adamBeta1(), config.adamBeta2(), config.adamEpsilon(), config.weightDecay(),
                AdamW.Arithmetic.TORCH);
    }

    /**
     * Metrics of one step under TRL's names, the sequence KL the KL controller is updated with, and how many of the
     * step's optimiser steps were skipped because a float32 gradient was not finite (the manifest records it).
     */
    public record Result(Map<String, Double> metrics, double meanKl, double meanScore, double meanResponseLength,
            int skippedNonFinite) {

        /** A step that skipped no optimiser step for a non-finite gradient. */
        public Result(Map<String, Double> metrics, double meanKl, double meanScore, double meanResponseLength) {
            this(metrics, meanKl, meanScore, meanResponseLength, 0);
        }
    }

    /**
     * Fault injection for tests: called with the model's parameters after every mini-batch's backward, before the
     * gradients are checked and the optimiser steps, so a test can make one optimiser step's gradient non-finite.
     */
    @FunctionalInterface
    public interface GradientHook {
        void afterBackward(List<NDArray> parameters);
    }

    private GradientHook gradientHook = parameters -> { };

    /** Installs {@code hook} (tests only; see {@link GradientHook}). */
    public void gradientHook(GradientHook hook) {
        this.gradientHook = hook;
    }

    /**
     * Trains on {@code batch} (exactly {@code batch_size} samples) with KL coefficient {@code klCoef}; {@code seed}
     * fixes the mini-batch shuffling so a replay reproduces the step.
     */
    public Result run(List<TrainingSample> batch, double klCoef, long seed) {
        if (batch.size() != config.batchSize()) {
            throw new IllegalArgumentException(
                    "batch has " + batch.size() + " samples, batch_size is " + config.batchSize());
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            return runScoped(batch, klCoef, seed);
        }
    }

    private Result runScoped(List<TrainingSample> batch, double klCoef, long seed) {
        int b = batch.size();
        int mb = config.miniBatchSize();
        TrainingSample.Sampling assumed = TrainingSample.Sampling.plain((float) config.temperature());
        Padded all = Padded.of(batch, manager, assumed);
        NDArray mask = all.mask;

        // Rollout statistics without gradient, in mini-batch chunks to bound the logits' memory.
        NDList oldLp = new NDList();
        NDList oldValues = new NDList();
        NDList refLp = new NDList();
        for (int from = 0; from < b; from += mb) {
            NDArray lp;
            NDArray v;
            NDArray ref;
            try (NDScope chunkScope = new NDScope()) {
                chunkScope.suppressNotUsedWarning();
                Padded chunk = Padded.of(batch.subList(from, from + mb), manager, all.responseLength, assumed);
                NDList out = model.policy(chunk.ids);
                lp = chunk.spanLogprobs(out.get(0), true);
                v = chunk.span(out.get(1));
                // the soup under the rollout's temperature without the cut: full support keeps KL finite
                ref = chunk.spanLogprobs(model.reference(chunk.ids), false);
                NDScope.unregister(lp, v, ref);
            }
            keep(lp, v, ref);
            oldLp.add(lp);
            oldValues.add(v);
            refLp.add(ref);
        }
        NDArray oldLogprobs = concat(oldLp, all).mul(mask);
        NDArray values = concat(oldValues, all).mul(mask);
        NDArray refLogprobs = concat(refLp, all).mul(mask);

        NDArray kl = PpoMath.kl(oldLogprobs, refLogprobs, config.klEstimator()).mul(mask);
        NDArray scores = PpoMath.penalizeMissingEos(all.scores, all.eos, config.missingEosPenalty());
        PpoMath.Gae gae = Advantages.of(config, batch, kl, scores, values, mask, klCoef);
        NDArray advantages = gae.advantages();
        NDArray returns = gae.returns();
        NDArray isWeights = config.isTruncation() > 0
                ? PpoMath.truncatedImportanceWeights(oldLogprobs, all.behaviour, config.isTruncation()).mul(mask)
                : null;

        NDList pgLoss = new NDList();
        NDList vfLoss = new NDList();
        NDList pgClip = new NDList();
        NDList vfClip = new NDList();
        NDList approxKl = new NDList();
        NDList entropy = new NDList();
        NDList ratio = new NDList();
        NDList ratioVar = new NDList();
        NDList klLoss = new NDList();
        NDList gradNorm = new NDList();
        int skipped = 0;
        long nonFiniteBefore = scaler.nonFiniteSkips();
        SplittableRandom random = new SplittableRandom(seed);
        for (int epoch = 0; epoch < config.ppoEpochs(); epoch++) {
            int[] perm = Shuffle.permutation(b, random);
            for (int from = 0; from < b; from += mb) {
                int[] rows = java.util.Arrays.copyOfRange(perm, from, from + mb);
                NDArray[] stats;
                try (NDScope mbScope = new NDScope()) {
                    mbScope.suppressNotUsedWarning();
                    stats = miniBatch(batch, rows, all, new NDList(oldLogprobs, values, advantages, returns,
                            refLogprobs), isWeights, klCoef);
                    NDScope.unregister(stats);
                }
                keep(stats);
                gradientHook.afterBackward(model.parameters());
                long nonFinite = scaler.nonFiniteSkips();
                Optional<NDArray> norm = scaler.step(optimizer, config.learningRate(), config.maxGradNorm());
                if (norm.isPresent()) {
                    gradNorm.add(norm.get());
                } else {
                    skipped++;
                }
                if (scaler.nonFiniteSkips() != nonFinite) {
                    // a non-finite gradient comes from a non-finite loss: its statistics would poison the averages
                    continue;
                }
                pgLoss.add(stats[0]);
                vfLoss.add(stats[1]);
                pgClip.add(stats[2]);
                vfClip.add(stats[3]);
                approxKl.add(stats[4]);
                entropy.add(stats[5]);
                ratio.add(stats[6]);
                ratioVar.add(stats[7]);
                klLoss.add(stats[8]);
            }
        }

        int nonFiniteSkipped = (int) (scaler.nonFiniteSkips() - nonFiniteBefore);

        // One host transfer for everything reported.
        NDArray seqKl = PpoMath.sequenceSumMean(kl, mask);
        NDArray nonScore = PpoMath.sequenceSumMean(kl.mul(Scalars.of(kl, -klCoef)), mask);
        NDArray seqEntropy = PpoMath.sequenceSumMean(oldLogprobs.neg(), mask);
        NDArray scoreMean = scores.mean();
        NDArray rawScoreMean = all.scores.mean();
        NDArray lengths = mask.sum(new int[] {1}).mean();
        NDArray eosCount = all.eos.sum();
        NDArray isMean = isWeights == null ? scoreMean.onesLike() : PpoMath.maskedMean(isWeights, mask);
        NDArray advMean = PpoMath.maskedMean(advantages, mask);
        NDArray retMean = PpoMath.maskedMean(returns, mask);
        NDArray head = NDArrays.stack(new NDList(seqKl, nonScore, seqEntropy, scoreMean, rawScoreMean, lengths,
                eosCount.toType(DataType.FLOAT32, false), isMean, advMean, retMean));
        float[] h = head.toFloatArray();
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("objective/kl", (double) h[0]);
        metrics.put("objective/entropy", (double) h[2]);
        metrics.put("objective/non_score_reward", (double) h[1]);
        metrics.put("objective/rlhf_reward", (double) (h[1] + h[3]));
        metrics.put("objective/scores", (double) h[3]);
        metrics.put("objective/scores_raw", (double) h[4]);
        metrics.put("objective/kl_coef", klCoef);
        metrics.put("policy/approxkl_avg", mean(approxKl));
        metrics.put("policy/clipfrac_avg", mean(pgClip));
        metrics.put("loss/policy_avg", mean(pgLoss));
        metrics.put("loss/value_avg", mean(vfLoss));
        metrics.put("val/clipfrac_avg", mean(vfClip));
        metrics.put("policy/entropy_avg", mean(entropy));
        metrics.put("val/ratio", mean(ratio));
        metrics.put("val/ratio_var", mean(ratioVar));
        if (config.algorithm() == Algorithm.GRPO) {
            metrics.put("loss/kl_avg", mean(klLoss));
        }
        metrics.put("val/num_eos_tokens", (double) h[6]);
        metrics.put("val/is_weight_avg", (double) h[7]);
        metrics.put("val/advantages_avg", (double) h[8]);
        metrics.put("val/returns_avg", (double) h[9]);
        // over the optimiser steps taken; NaN when loss scaling skipped every one of them
        metrics.put("policy/grad_norm_avg", gradNorm.isEmpty() ? Double.NaN : mean(gradNorm));
        metrics.put("response_length", (double) h[5]);
        metrics.put("lr", config.learningRate());
        if (scaler.enabled()) {
            metrics.put("amp/loss_scale", (double) scaler.lossScale());
            metrics.put("amp/skipped_steps", (double) skipped);
        }
        // the per-step flag and the run's count of optimiser steps skipped for a non-finite float32 gradient
        metrics.put("learner/non_finite_skip", nonFiniteSkipped > 0 ? 1.0 : 0.0);
        metrics.put("learner/skipped_non_finite_steps", (double) scaler.nonFiniteSkips());
        return new Result(metrics, h[0], h[3], h[5], nonFiniteSkipped);
    }


    /**
     * Forward, losses and backward of one mini-batch; returns its detached statistics. {@code perBatch} holds the
     * batch's old log-probs, values, advantages, returns and reference log-probs, in that order.
     */
    private NDArray[] miniBatch(List<TrainingSample> batch, int[] rows, Padded all, NDList perBatch,
            NDArray isWeights, double klCoef) {
        List<TrainingSample> sub = new ArrayList<>(rows.length);
        for (int r : rows) {
            sub.add(batch.get(r));
        }
        NDArray rowIdx = manager.create(java.util.Arrays.stream(rows).asLongStream().toArray());
        Padded chunk = Padded.of(sub, manager, all.responseLength, all.assumed);
        NDArray mbMask = chunk.mask;
        NDArray mbOld = take(perBatch.get(0), rowIdx);
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDList out = model.trainingPolicy(chunk.ids);
            NDArray logits = out.get(0);
            NDArray newLp = chunk.spanLogprobs(logits, true);
            PpoMath.PolicyLoss pl = PpoMath.clippedPolicyLoss(newLp, mbOld, take(perBatch.get(2), rowIdx), mbMask,
                    config.clipLow(), config.clipHigh(), config.dualClip(), config.lossAgg(),
                    isWeights == null ? null : take(isWeights, rowIdx));
            NDArray shifted = logits.get(new NDIndex(":, :-1"));
            NDArray tokenEntropy = chunk.span(PpoMath.entropyFromLogits(chunk.tempered(shifted)));
            NDArray meanEntropy = PpoMath.maskedMean(tokenEntropy, mbMask);
            NDArray loss = pl.loss();
            NDArray zero = pl.loss().zerosLike().stopGradient();
            NDArray[] value = {zero, zero};
            if (config.algorithm().usesCritic()) {
                NDArray vpred = chunk.span(out.get(1)).mul(mbMask);
                PpoMath.ValueLoss vl = PpoMath.clippedValueLoss(vpred, take(perBatch.get(1), rowIdx),
                        take(perBatch.get(3), rowIdx), mbMask, config.cliprangeValue());
                loss = loss.add(vl.loss().mul(Scalars.of(vl.loss(), config.vfCoef())));
                value = new NDArray[] {vl.loss().stopGradient(), vl.clipfrac()};
            }
            NDArray klTerm = zero;
            if (config.algorithm() == Algorithm.GRPO) {
                // GRPO keeps the reference out of the reward: k3(π_θ ‖ π_ref) per token as a loss term, token mean
                klTerm = PpoMath.maskedMean(PpoMath.k3(newLp, take(perBatch.get(4), rowIdx)), mbMask);
                loss = loss.add(klTerm.mul(Scalars.of(klTerm, klCoef)));
            }
            if (config.entropyCoef() > 0) {
                loss = loss.sub(meanEntropy.mul(Scalars.of(meanEntropy, config.entropyCoef())));
            }
            collector.backward(scaler.scale(loss));
            NDArray ratios = newLp.sub(mbOld).exp().stopGradient();
            return new NDArray[] {pl.loss().stopGradient(), value[0], pl.clipfrac(), value[1],
                pl.approxKl().stopGradient(), meanEntropy.stopGradient(), pl.ratio().stopGradient(),
                PpoMath.maskedVar(ratios, mbMask, false), klTerm.stopGradient()};
        }
    }

    /** Registers arrays that survived an inner scope in the enclosing one, so the step frees them. */
    private static void keep(NDArray... arrays) {
        for (NDArray a : arrays) {
            NDScope.register(a);
        }
    }

    /** Mean of device scalars; NaN when there are none (every optimiser step of the step was skipped). */
    private static double mean(NDList scalars) {
        if (scalars.isEmpty()) {
            return Double.NaN;
        }
        float[] values = NDArrays.stack(scalars).toFloatArray();
        double sum = 0;
        for (float v : values) {
            sum += v;
        }
        return sum / values.length;
    }

    private static NDArray take(NDArray array, NDArray rows) {
        return array.get(new NDIndex("{}", rows));
    }

    private static NDArray concat(NDList parts, Padded all) {
        NDArray joined = parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, 0);
        if (joined.getShape().get(1) != all.responseLength) {
            throw new IllegalStateException("chunk response length differs from the batch's");
        }
        return joined;
    }

    /**
     * A batch laid out for the model: prompt+response right-padded to one length, and the index of the position
     * whose next-token prediction is each response token, so per-token values come out with one gather.
     */
    static final class Padded {
        final NDArray ids;
        final NDArray spanIndex;
        final NDArray flatPositions;
        final NDArray responseTokens;
        final NDArray mask;
        final NDArray behaviour;
        final NDArray scores;
        final NDArray eos;
        final int responseLength;
        /** Per span position (row-major, like {@code mask}): the row's sampling settings. */
        final float[] temperature;
        final int[] topK;
        final float[] topP;
        final TrainingSample.Sampling assumed;

        private Padded(NDArray ids, NDArray spanIndex, NDArray flatPositions, NDArray responseTokens, NDArray mask, NDArray behaviour,
                NDArray scores, NDArray eos, int responseLength, float[] temperature, int[] topK, float[] topP,
                TrainingSample.Sampling assumed) {
            this.ids = ids;
            this.spanIndex = spanIndex;
            this.flatPositions = flatPositions;
            this.responseTokens = responseTokens;
            this.mask = mask;
            this.behaviour = behaviour;
            this.scores = scores;
            this.eos = eos;
            this.responseLength = responseLength;
            this.temperature = temperature;
            this.topK = topK;
            this.topP = topP;
            this.assumed = assumed;
        }

        /** @param assumed the sampling settings of samples that carry none (the learner's temperature, no cut) */
        static Padded of(List<TrainingSample> samples, NDManager manager, TrainingSample.Sampling assumed) {
            int t = 0;
            for (TrainingSample s : samples) {
                t = Math.max(t, s.responseTokens().length);
            }
            return of(samples, manager, t, assumed);
        }

        static Padded of(List<TrainingSample> samples, NDManager manager, int responseLength,
                TrainingSample.Sampling assumed) {
            int b = samples.size();
            int length = 0;
            for (TrainingSample s : samples) {
                length = Math.max(length, s.queryTokens().length + s.responseTokens().length);
            }
            long[] ids = new long[b * length];
            long[] span = new long[b * responseLength];
            long[] flat = new long[b * responseLength];
            long[] tokens = new long[b * responseLength];
            float[] mask = new float[b * responseLength];
            float[] behaviour = new float[b * responseLength];
            float[] scores = new float[b];
            float[] eos = new float[b];
            float[] temperature = new float[b * responseLength];
            int[] topK = new int[b * responseLength];
            float[] topP = new float[b * responseLength];
            for (int i = 0; i < b; i++) {
                TrainingSample s = samples.get(i);
                TrainingSample.Sampling sampling = s.sampling() == null ? assumed : s.sampling();
                java.util.Arrays.fill(temperature, i * responseLength, (i + 1) * responseLength, sampling.temperature());
                java.util.Arrays.fill(topK, i * responseLength, (i + 1) * responseLength, sampling.topK());
                java.util.Arrays.fill(topP, i * responseLength, (i + 1) * responseLength, sampling.topP());
                int q = s.queryTokens().length;
                int r = s.responseTokens().length;
                for (int j = 0; j < q; j++) {
                    ids[i * length + j] = s.queryTokens()[j];
                }
                for (int j = 0; j < r; j++) {
                    ids[i * length + q + j] = s.responseTokens()[j];
                }
                for (int j = 0; j < responseLength; j++) {
                    int k = i * responseLength + j;
                    if (j < r) {
                        // logits at position q-1+j predict response token j
                        span[k] = q - 1 + j;
                        flat[k] = (long) i * length + span[k];
                        tokens[k] = s.responseTokens()[j];
                        mask[k] = 1f;
                        behaviour[k] = s.behaviourLogprobs()[j];
                    } else {
                        span[k] = q - 1;
                        flat[k] = (long) i * length + span[k];
                    }
                }
                scores[i] = s.score();
                eos[i] = s.stoppedAtEos() ? 1f : 0f;
            }
            return new Padded(
                    manager.create(ids, new Shape(b, length)),
                    manager.create(span, new Shape(b, responseLength)),
                    manager.create(flat, new Shape(b, responseLength)),
                    manager.create(tokens, new Shape(b, responseLength)),
                    manager.create(mask, new Shape(b, responseLength)),
                    manager.create(behaviour, new Shape(b, responseLength)),
                    manager.create(scores),
                    manager.create(eos),
                    responseLength, temperature, topK, topP, assumed);
        }

        /** Per-position values {@code [b, length, …]} restricted to the response span, {@code [b, T]}. */
        NDArray span(NDArray perPosition) {
            return perPosition.gather(spanIndex, 1);
        }

        /**
         * Log-probs of the response tokens {@code [b, T]} (0 at padding) under each row's sampling distribution made
         * from {@code logits} {@code [b, length, V]}: divided by the row's temperature and, when {@code cut}, cut to
         * the row's top-k/top-p by these logits' own ranking and renormalised ({@link SampledLogprobs}, the rule the
         * generator sampled with). For the policy this is the behaviour log-prob's quantity: with the weights that
         * sampled the rollout it reproduces it, so on-policy the importance weights and ratios are 1.
         */
        NDArray spanLogprobs(NDArray logits, boolean cut) {
            long vocab = logits.getShape().get(2);
            // only the B*T positions that predict response tokens, so the cut sorts no more rows than needed
            NDArray rows = logits.reshape(-1, vocab).get(new NDIndex("{}", flatPositions.reshape(-1)));
            int[] k = cut ? topK : new int[topK.length];
            float[] p = topP;
            if (!cut) {
                p = new float[topP.length];
                java.util.Arrays.fill(p, 1f);
            }
            NDArray lp = SampledLogprobs.of(rows, responseTokens.reshape(-1), temperature, k, p);
            return lp.reshape(mask.getShape()).mul(mask);
        }

        /** {@code perPosition} logits {@code [b, length, V]} divided by each row's sampling temperature. */
        NDArray tempered(NDArray perPosition) {
            int b = Math.toIntExact(perPosition.getShape().get(0));
            float[] rowTemperature = new float[b];
            boolean allOne = true;
            for (int i = 0; i < b; i++) {
                rowTemperature[i] = temperature[i * responseLength];
                allOne &= rowTemperature[i] == 1f;
            }
            return allOne ? perPosition : perPosition.div(perPosition.getManager()
                    .create(rowTemperature, new Shape(b, 1, 1)).toType(perPosition.getDataType(), false));
        }
    }
}
