package io.salsa.cli.experiment;

import io.salsa.learner.ppo.PpoConfig;

/**
 * Sizes of the SALSA-vs-PPO experiment, validated with messages naming the setting: the same budget (PPO steps,
 * batch, generation length) for every arm.
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
 * @param initKlCoef     initial β
 * @param maxNewTokens   response length limit
 * @param evalPrompts    held-out prompts per split (capped by the split's size)
 * @param guardEvery     gold evaluation for the KL-hack guard every this many steps (0 = never)
 */
public record ExperimentConfig(String name, int seeds, int steps, long taskSeed, int entities, int pretrainEpochs,
                               int sftEpochs, int rmEpochs, int rmMaxSteps, int batchSize, int miniBatchSize, double learningRate,
                               double initKlCoef, int maxNewTokens, int evalPrompts, int guardEvery) {

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
        if (!(initKlCoef >= 0)) {
            throw new IllegalArgumentException("initKlCoef must be ≥ 0, got " + initKlCoef);
        }
    }

    /** The default experiment: 3 seeds, 12 PPO steps per arm, a 12-entity world. */
    public static ExperimentConfig standard() {
        return new ExperimentConfig("default", 3, 12, 7, 12, 20, 4, 1, 60, 16, 8, 1e-4, 0.1, 16, 48, 5);
    }

    /** The test suite's: the whole pipeline, as small as it still runs end to end. */
    public static ExperimentConfig quick() {
        return new ExperimentConfig("quick", 1, 2, 7, 6, 1, 1, 1, 4, 4, 4, 1e-4, 0.1, 6, 4, 1);
    }

    public ExperimentConfig withSeeds(int n) {
        return new ExperimentConfig(name, n, steps, taskSeed, entities, pretrainEpochs, sftEpochs, rmEpochs, rmMaxSteps,
                batchSize, miniBatchSize, learningRate, initKlCoef, maxNewTokens, evalPrompts, guardEvery);
    }

    public ExperimentConfig withSteps(int n) {
        return new ExperimentConfig(name, seeds, n, taskSeed, entities, pretrainEpochs, sftEpochs, rmEpochs, rmMaxSteps,
                batchSize, miniBatchSize, learningRate, initKlCoef, maxNewTokens, evalPrompts, guardEvery);
    }

    /** The learner's PPO config for this budget: TRL defaults with our batch, learning rate and β. */
    public PpoConfig ppo() {
        return PpoConfig.builder().batchSize(batchSize).miniBatchSize(miniBatchSize).learningRate(learningRate)
                .initKlCoef(initKlCoef).build();
    }

    private static void check(String setting, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(setting + " must be between " + min + " and " + max + ", got " + value);
        }
    }
}
