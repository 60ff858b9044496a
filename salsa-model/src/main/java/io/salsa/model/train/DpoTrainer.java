package io.salsa.model.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.Scalars;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Direct Preference Optimisation (Rafailov et al. 2023), the offline alternative to RLHF: it learns from preference
 * pairs directly, with no reward model and no sampling, so an experiment can compare it with the online arms on the
 * same data. It is an {@link SupervisedTrainer.Objective}, so it shares SFT's loop (AdamW, warm-up and decay,
 * clipping, the non-finite policy, the progress line).
 *
 * <p>For a pair (x, y_w ≻ y_l), with sequence log-probs log π(y|x) summed over the response tokens (the tokens
 * {@link SftData.Sequence#isTrained} marks: the response and its EOS):
 * <pre>
 *   loss = −log σ(β·[(log πθ(y_w|x) − log π_ref(y_w|x)) − (log πθ(y_l|x) − log π_ref(y_l|x))])
 * </pre>
 * averaged over the pairs of a batch. The reference is frozen, so its log-probs are computed once before training
 * ({@link #withReference}) and the reference model need not stay in memory. Metric names follow TRL's
 * ({@code rewards/chosen} = β·(log πθ(y_w) − log π_ref(y_w)), {@code rewards/accuracies}, {@code rewards/margins}).
 */
public final class DpoTrainer {

    private DpoTrainer() {
    }

    /**
     * One preference: the same prompt with the preferred and the other response.
     *
     * @param chosen   prompt + preferred response (its trained tokens are the response)
     * @param rejected prompt + the other response
     */
    public record Pair(SftData.Sequence chosen, SftData.Sequence rejected) {
        public Pair {
            Objects.requireNonNull(chosen, "chosen");
            Objects.requireNonNull(rejected, "rejected");
        }
    }

    /**
     * A pair with its reference log-probs, the unit DPO trains on.
     *
     * @param referenceChosen   log π_ref(y_w|x), summed over the response tokens
     * @param referenceRejected log π_ref(y_l|x)
     */
    public record ScoredPair(Pair pair, double referenceChosen, double referenceRejected) {
    }

    /**
     * DPO's view of a policy on pairs, without gradients.
     *
     * @param loss          mean DPO loss
     * @param accuracy      share of pairs whose implicit reward ranks the chosen response first (TRL
     *                      {@code rewards/accuracies}; a margin of exactly 0 counts half)
     * @param margin        mean implicit reward margin β·Δ (TRL {@code rewards/margins})
     * @param chosenReward  mean β·(log πθ(y_w) − log π_ref(y_w)) (TRL {@code rewards/chosen})
     */
    public record Metrics(double loss, double accuracy, double margin, double chosenReward) {
    }

    /** The DPO loss of one pair in double precision (evaluation and tests). */
    public static double loss(double policyChosen, double policyRejected, double referenceChosen,
                              double referenceRejected, double beta) {
        return LmLoss.softplus(-margin(policyChosen, policyRejected, referenceChosen, referenceRejected, beta));
    }

    /** β·[(log πθ(y_w) − log π_ref(y_w)) − (log πθ(y_l) − log π_ref(y_l))]: the implicit reward margin. */
    public static double margin(double policyChosen, double policyRejected, double referenceChosen,
                                double referenceRejected, double beta) {
        return beta * ((policyChosen - referenceChosen) - (policyRejected - referenceRejected));
    }

    /**
     * The mean DPO loss of a batch on the autograd path; every argument is [P] (sequence log-probs), the policy's
     * carry gradients.
     */
    public static NDArray loss(NDArray policyChosen, NDArray policyRejected, NDArray referenceChosen,
                               NDArray referenceRejected, double beta) {
        checkBeta(beta);
        NDArray logits = policyChosen.sub(referenceChosen).sub(policyRejected.sub(referenceRejected))
                .mul(Scalars.of(policyChosen, beta));
        return LmLoss.softplus(logits.neg()).mean();
    }

    /**
     * Sequence log-probs log π(y|x) of right-padded {@code sequences} on the autograd path: [B], the sum of the
     * next-token log-probs at the trained positions.
     */
    static NDArray sequenceLogProbs(CausalLm model, NDManager scope, List<SftData.Sequence> sequences) {
        SftBatch batch = SftBatch.of(sequences, model.padTokenId());
        NDArray ids = scope.create(batch.ids());
        NDArray logp = GptModel.logProbsOfNext(model.run(ids, scope.create(batch.mask())).logits(), ids);
        return logp.mul(scope.create(batch.lossMask())).sum(new int[] {1});
    }

    /** Sequence log-probs of {@code sequences} under {@code model}, without gradients, {@code batchSize} at a time. */
    public static double[] sequenceLogProbs(CausalLm model, List<SftData.Sequence> sequences, int batchSize) {
        double[] out = new double[sequences.size()];
        for (int from = 0; from < sequences.size(); from += batchSize) {
            List<SftData.Sequence> chunk = sequences.subList(from, Math.min(sequences.size(), from + batchSize));
            try (NDManager scope = model.newScope()) {
                float[] lp = sequenceLogProbs(model, scope, chunk).toFloatArray();
                for (int i = 0; i < lp.length; i++) {
                    out[from + i] = lp[i];
                }
            }
        }
        return out;
    }

    /** Computes the frozen reference's log-probs of every pair once: what {@link #objective} trains on. */
    public static List<ScoredPair> withReference(CausalLm reference, List<Pair> pairs, int batchSize) {
        double[] chosen = sequenceLogProbs(reference, pairs.stream().map(Pair::chosen).toList(), batchSize);
        double[] rejected = sequenceLogProbs(reference, pairs.stream().map(Pair::rejected).toList(), batchSize);
        List<ScoredPair> out = new ArrayList<>(pairs.size());
        for (int i = 0; i < pairs.size(); i++) {
            out.add(new ScoredPair(pairs.get(i), chosen[i], rejected[i]));
        }
        return out;
    }

    /**
     * The DPO objective with coefficient {@code beta}: chosen and rejected sequences in one forward pass (one
     * padded batch of 2P rows), the loss above against the precomputed reference log-probs.
     */
    public static SupervisedTrainer.Objective<ScoredPair> objective(double beta) {
        checkBeta(beta);
        return new SupervisedTrainer.Objective<>() {
            @Override
            public NDArray loss(CausalLm model, NDManager scope, List<ScoredPair> batch) {
                int p = batch.size();
                List<SftData.Sequence> rows = new ArrayList<>(2 * p);
                float[] refChosen = new float[p];
                float[] refRejected = new float[p];
                for (int i = 0; i < p; i++) {
                    rows.add(batch.get(i).pair().chosen());
                    refChosen[i] = (float) batch.get(i).referenceChosen();
                    refRejected[i] = (float) batch.get(i).referenceRejected();
                }
                batch.forEach(s -> rows.add(s.pair().rejected()));
                NDArray logp = sequenceLogProbs(model, scope, rows);
                return DpoTrainer.loss(logp.get(new NDIndex("0:" + p)), logp.get(new NDIndex(p + ":")),
                        scope.create(refChosen), scope.create(refRejected), beta);
            }

            @Override
            public long units(List<ScoredPair> batch) {
                return batch.size();
            }
        };
    }

    /** Trains {@code policy} in place with DPO on {@code pairs} (reference log-probs included). */
    public static SupervisedTrainer.Result train(CausalLm policy, List<ScoredPair> pairs, double beta,
                                                 SupervisedTrainer.Settings settings, Consumer<String> progress) {
        try (SupervisedTrainer<ScoredPair> trainer = new SupervisedTrainer<>(policy, objective(beta), settings,
                new SupervisedTrainer.ProgressFormat("dpo-loss", "pairs/s", 1, false), progress)) {
            return trainer.train(pairs);
        }
    }

    /** Loss, implicit-reward accuracy and margin of {@code policy} on {@code pairs}, without gradients. */
    public static Metrics evaluate(CausalLm policy, List<ScoredPair> pairs, double beta, int batchSize) {
        checkBeta(beta);
        if (pairs.isEmpty()) {
            throw new IllegalArgumentException("no preference pairs to evaluate");
        }
        double[] chosen = sequenceLogProbs(policy, pairs.stream().map(s -> s.pair().chosen()).toList(), batchSize);
        double[] rejected = sequenceLogProbs(policy, pairs.stream().map(s -> s.pair().rejected()).toList(),
                batchSize);
        double loss = 0;
        double right = 0;
        double margins = 0;
        double chosenRewards = 0;
        for (int i = 0; i < pairs.size(); i++) {
            ScoredPair s = pairs.get(i);
            double m = margin(chosen[i], rejected[i], s.referenceChosen(), s.referenceRejected(), beta);
            loss += LmLoss.softplus(-m);
            right += m > 0 ? 1 : m == 0 ? 0.5 : 0;
            margins += m;
            chosenRewards += beta * (chosen[i] - s.referenceChosen());
        }
        int n = pairs.size();
        return new Metrics(loss / n, right / n, margins / n, chosenRewards / n);
    }

    private static void checkBeta(double beta) {
        if (!(beta > 0) || !Double.isFinite(beta)) {
            throw new IllegalArgumentException("DPO beta must be finite and > 0, got " + beta);
        }
    }
}
