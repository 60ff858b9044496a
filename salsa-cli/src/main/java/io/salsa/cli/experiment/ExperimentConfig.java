package io.salsa.cli.experiment;

import io.salsa.learner.ppo.PpoConfig;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Sizes of the SALSA-vs-PPO experiment, validated with messages naming the setting: the same budget (PPO steps,
 * batch, generation length) for every online arm, and the KL coefficients every arm is swept over.
 *
 * @param name           profile name
 * @param seeds          PPO seeds per arm (1..20)
 * @param steps          PPO steps per run (1..10000)
 * @param taskSeed       seed of the built-in task
 * @param entities       entities of the task world
 * @param pretrainEpochs epochs of the base model's pretraining
 * @param sftEpochs      epochs of each SFT fine-tune
 * @param rmEpochs       epochs of reward-model training
 * @param rmMaxSteps     cap on reward-model optimiser steps (0 = the epochs decide)
 * @param batchSize      rollouts per PPO step (TRL {@code batch_size})
 * @param miniBatchSize  rollouts per optimiser step (TRL {@code mini_batch_size})
 * @param learningRate   PPO learning rate
 * @param klCoefs        the fixed β values every arm is trained with ({@code --kl-coefs}; 1..8 distinct values
 *                       &gt; 0, kept sorted); the KL controller is fixed, so β is the swept variable
 * @param groupSize      GRPO's responses per prompt (its batch is batchSize / groupSize prompts × groupSize)
 * @param dpoSteps       optimiser steps of each DPO run (batch {@code batchSize} pairs)
 * @param dpoLearningRate DPO learning rate
 * @param maxNewTokens   response length limit
 * @param evalPrompts    held-out prompts per split (capped by the split's size)
 * @param guardEvery     gold evaluation for the KL-hack guard every this many steps (0 = never)
 */
public record ExperimentConfig(String name, int seeds, int steps, long taskSeed, int entities, int pretrainEpochs,
                               int sftEpochs, int rmEpochs, int rmMaxSteps, int batchSize, int miniBatchSize, double learningRate,
                               List<Double> klCoefs, int groupSize, int dpoSteps, double dpoLearningRate,
                               int maxNewTokens, int evalPrompts, int guardEvery) {

    public ExperimentConfig {
        check("--seeds", seeds, 1, 20);
        check("--steps", steps, 1, 10_000);
        check("entities", entities, 6, 300);
        check("pretrainEpochs", pretrainEpochs, 1, 1000);
        check("sftEpochs", sftEpochs, 1, 1000);
        check("rmEpochs", rmEpochs, 1, 1000);
        check("rmMaxSteps", rmMaxSteps, 0, 1_000_000);
        check("batchSize", batchSize, 1, 4096);
        check("miniBatchSize", miniBatchSize, 1, batchSize);
        check("maxNewTokens", maxNewTokens, 1, 512);
        check("evalPrompts", evalPrompts, 1, 100_000);
        check("guardEvery", guardEvery, 0, 10_000);
        if (!(learningRate > 0 && learningRate < 1)) {
            throw new IllegalArgumentException("learningRate must be in (0, 1), got " + learningRate);
        }
        if (!(dpoLearningRate > 0 && dpoLearningRate < 1)) {
            throw new IllegalArgumentException("dpoLearningRate must be in (0, 1), got " + dpoLearningRate);
        }
        check("dpoSteps", dpoSteps, 1, 1_000_000);
        check("groupSize", groupSize, 2, batchSize);
        if (batchSize % groupSize != 0) {
            throw new IllegalArgumentException("groupSize must divide batchSize, got " + groupSize + " and "
                    + batchSize);
        }
        klCoefs = List.copyOf(klCoefs).stream().sorted().toList();
        if (klCoefs.isEmpty() || klCoefs.size() > 8) {
            throw new IllegalArgumentException("--kl-coefs needs 1 to 8 values, got " + klCoefs.size());
        }
        for (double b : klCoefs) {
            if (!(b > 0) || !Double.isFinite(b)) {
                throw new IllegalArgumentException("--kl-coefs values must be finite and > 0, got " + b);
            }
        }
        if (klCoefs.stream().distinct().count() != klCoefs.size()) {
            throw new IllegalArgumentException("--kl-coefs values must be distinct, got " + klCoefs);
        }
    }

    /**
     * The full experiment (the default): 5 seeds, 60 PPO steps per run, β ∈ {0.05, 0.1, 0.2} for each of the five
     * online arms and two DPO arms, a 12-entity world.
     */
    public static ExperimentConfig standard() {
        return new ExperimentConfig("default", 5, 60, 7, 12, 20, 4, 1, 60, 16, 8, 1e-4, List.of(0.05, 0.1, 0.2), 4,
                60, 1e-4, 16, 48, 5);
    }

    /** The test suite's: the whole pipeline and a two-point sweep, as small as it still runs end to end. */
    public static ExperimentConfig quick() {
        return new ExperimentConfig("quick", 1, 2, 7, 6, 1, 1, 1, 4, 4, 4, 1e-4, List.of(0.05, 0.2), 2, 2, 1e-4,
                6, 4, 1);
    }

    public ExperimentConfig withSeeds(int n) {
        return new ExperimentConfig(name, n, steps, taskSeed, entities, pretrainEpochs, sftEpochs, rmEpochs, rmMaxSteps,
                batchSize, miniBatchSize, learningRate, klCoefs, groupSize, dpoSteps, dpoLearningRate, maxNewTokens,
                evalPrompts, guardEvery);
    }

    public ExperimentConfig withSteps(int n) {
        return new ExperimentConfig(name, seeds, n, taskSeed, entities, pretrainEpochs, sftEpochs, rmEpochs, rmMaxSteps,
                batchSize, miniBatchSize, learningRate, klCoefs, groupSize, dpoSteps, dpoLearningRate, maxNewTokens,
                evalPrompts, guardEvery);
    }

    public ExperimentConfig withKlCoefs(List<Double> values) {
        return new ExperimentConfig(name, seeds, steps, taskSeed, entities, pretrainEpochs, sftEpochs, rmEpochs,
                rmMaxSteps, batchSize, miniBatchSize, learningRate, values, groupSize, dpoSteps, dpoLearningRate,
                maxNewTokens, evalPrompts, guardEvery);
    }

    public ExperimentConfig withDpoSteps(int n) {
        return new ExperimentConfig(name, seeds, steps, taskSeed, entities, pretrainEpochs, sftEpochs, rmEpochs,
                rmMaxSteps, batchSize, miniBatchSize, learningRate, klCoefs, groupSize, n, dpoLearningRate,
                maxNewTokens, evalPrompts, guardEvery);
    }

    /**
     * Parses {@code --kl-coefs}: comma-separated numbers, e.g. {@code 0.05,0.1,0.2}.
     *
     * @throws IllegalArgumentException naming the setting and the bad value
     */
    public static List<Double> parseKlCoefs(String raw) {
        try {
            return java.util.Arrays.stream(raw.split(",")).map(String::trim).map(Double::parseDouble).toList();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--kl-coefs must be comma-separated numbers such as 0.05,0.1,0.2, got '"
                    + raw + "'");
        }
    }

    /**
     * The β of the per-β tables (arms and head to head at the same β): the middle of the sweep, the lower middle
     * for an even count.
     */
    public double headlineKlCoef() {
        return klCoefs.get((klCoefs.size() - 1) / 2);
    }

    /**
     * The learner's PPO config for this budget at one β: TRL defaults with our batch and learning rate, the KL
     * controller fixed at {@code klCoef} (no adaptive controller, so the sweep's β is the β trained with).
     */
    public PpoConfig ppo(double klCoef) {
        return PpoConfig.builder().batchSize(batchSize).miniBatchSize(miniBatchSize).learningRate(learningRate)
                .initKlCoef(klCoef).adapKlCtrl(false).build();
    }

    /** {@code 0.05,0.1,0.2}. */
    public String klCoefsText() {
        return klCoefs.stream().map(ExperimentConfig::formatBeta).collect(Collectors.joining(","));
    }

    /** A β as it appears in run names and tables: shortest round-trip decimal ({@code 0.05}). */
    static String formatBeta(double beta) {
        String s = String.format(Locale.ROOT, "%s", beta);
        return s.endsWith(".0") ? s.substring(0, s.length() - 2) : s;
    }

    private static void check(String setting, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(setting + " must be between " + min + " and " + max + ", got " + value);
        }
    }
}
