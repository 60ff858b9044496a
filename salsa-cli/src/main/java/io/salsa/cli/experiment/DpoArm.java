package io.salsa.cli.experiment;

import ai.djl.Device;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.model.train.DpoTrainer;
import io.salsa.model.train.SftData;
import io.salsa.model.train.SupervisedTrainer;
import io.salsa.scorer.rm.PreferencePair;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The experiment's offline arm: DPO (salsa-model's {@link DpoTrainer}) on the same preference pairs the reward model
 * was trained on, starting from and anchored to one reference (the soup or one SFT model), so the online arms'
 * question — does a soup reference help? — is also asked without a reward model or sampling.
 */
final class DpoArm {

    /** Consecutive non-finite steps that halt a DPO run. */
    private static final int MAX_CONSECUTIVE_SKIPS = 3;

    private DpoArm() {
    }

    /**
     * The strict preference pairs as DPO pairs: the prompt is the pair's group (its text), the response and its
     * EOS are what DPO scores; sequences are cut to {@code maxLength} tokens as SFT cuts them.
     *
     * @return the pairs and, second, how many were left out (ties, which DPO has no target for, and pairs whose
     *     prompt alone fills {@code maxLength})
     */
    static Prepared pairs(List<PreferencePair> preferences, SalsaTokenizer tokenizer, int maxLength) {
        List<DpoTrainer.Pair> out = new ArrayList<>();
        int skipped = 0;
        for (PreferencePair p : preferences) {
            int promptLength = tokenizer.encode(p.group()).length;
            if (p.tie() || promptLength == 0 || promptLength >= maxLength) {
                skipped++;
                continue;
            }
            out.add(new DpoTrainer.Pair(sequence(p.chosen(), promptLength, maxLength),
                    sequence(p.rejected(), promptLength, maxLength)));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no strict preference pairs for DPO (" + skipped + " ties or prompts "
                    + "longer than " + maxLength + " tokens)");
        }
        return new Prepared(out, skipped);
    }

    /** DPO pairs and the number of preference pairs left out. */
    record Prepared(List<DpoTrainer.Pair> pairs, int skipped) {
    }

    /** The reference's log-probs of every pair, computed once per reference model. */
    static List<DpoTrainer.ScoredPair> withReference(Path reference, List<DpoTrainer.Pair> pairs, int batchSize,
                                                     Device device) throws IOException {
        try (CausalLm model = CausalLms.load(reference, GptModel.Head.NONE, device)) {
            return DpoTrainer.withReference(model, pairs, batchSize);
        }
    }

    /**
     * Trains a policy from {@code init} with DPO at {@code beta} for {@code cfg.dpoSteps()} steps (data order from
     * {@code seed}) and saves it to {@code out}.
     */
    static DpoTrainer.Metrics train(Path init, List<DpoTrainer.ScoredPair> pairs, double beta, long seed,
                                    ExperimentConfig cfg, Path out, Device device, PrintStream log)
            throws IOException {
        int perEpoch = (pairs.size() + cfg.batchSize() - 1) / cfg.batchSize();
        int epochs = Math.max(1, (cfg.dpoSteps() + perEpoch - 1) / perEpoch);
        SupervisedTrainer.Settings settings = new SupervisedTrainer.Settings(epochs, cfg.dpoLearningRate(),
                cfg.batchSize(), Math.min(10, cfg.dpoSteps() / 10), cfg.dpoSteps(), 1.0, 0.0, seed,
                MAX_CONSECUTIVE_SKIPS);
        try (CausalLm policy = CausalLms.load(init, GptModel.Head.NONE, device)) {
            DpoTrainer.train(policy, pairs, beta, settings, log::println);
            policy.save(out);
            return DpoTrainer.evaluate(policy, pairs.subList(0, Math.min(pairs.size(), 256)), beta,
                    cfg.batchSize());
        }
    }

    private static SftData.Sequence sequence(int[] ids, int promptLength, int maxLength) {
        return new SftData.Sequence(ids.length <= maxLength ? ids : Arrays.copyOf(ids, maxLength), promptLength);
    }
}
