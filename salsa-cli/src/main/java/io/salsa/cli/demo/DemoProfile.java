package io.salsa.cli.demo;

/**
 * The sizes of one demo run (how long each stage trains, how many preferences, how many PPO steps), as a
 * validated record with a quick profile for the test suite and a default one for a first look.
 *
 * @param name            profile name, shown in the report
 * @param taskSeed        seed of the built-in task's world and splits
 * @param entities        invented entities of the built-in task's world
 * @param sftModels       K, the number of SFT models in the soup (≥ 2)
 * @param pretrainEpochs  epochs of the tiny base model's pretraining on the task corpus
 * @param sftEpochs       epochs of each SFT fine-tune
 * @param preferences     preferences the simulated raters submit through the HTTP API
 * @param rewardSteps     optimizer steps of reward-model training
 * @param ppoSteps        PPO steps of the SALSA loop
 * @param ppoBatch        rollouts per learner step (TRL {@code batch_size}): whole groups of
 *                        {@code KafkaLoopStages.SAMPLES_PER_PROMPT}, halved into two mini-batches of whole groups
 * @param generators      rollout generator instances
 */
public record DemoProfile(String name, long taskSeed, int entities, int sftModels, int pretrainEpochs, int sftEpochs,
                          int preferences,
                          int rewardSteps, int ppoSteps, int ppoBatch, int generators) {

    public DemoProfile {
        check("entities", entities, 6, 300);
        check("sftModels", sftModels, 2, 16);
        check("pretrainEpochs", pretrainEpochs, 1, 10_000);
        check("sftEpochs", sftEpochs, 1, 10_000);
        check("preferences", preferences, 2, 1_000_000);
        check("rewardSteps", rewardSteps, 1, 1_000_000);
        check("ppoSteps", ppoSteps, 1, 1_000_000);
        check("ppoBatch", ppoBatch, 2 * KafkaLoopStages.SAMPLES_PER_PROMPT, 4096);
        if (ppoBatch % (2 * KafkaLoopStages.SAMPLES_PER_PROMPT) != 0) {
            throw new IllegalArgumentException("ppoBatch must be a multiple of " + 2 * KafkaLoopStages.SAMPLES_PER_PROMPT
                    + " (two mini-batches of whole prompt groups), got " + ppoBatch);
        }
        check("generators", generators, 1, 64);
    }

    /** The profile the test suite runs: every stage happens, each as small as still meaningful (≤ 2 min). */
    public static DemoProfile quick() {
        return new DemoProfile("quick", 7, 6, 2, 1, 1, 32, 20, 4, 16, 1);
    }

    /**
     * The README's first command: long enough for the curves to mean something (≤ 10 min on 2 cores). The gold
     * changes below are on the task's 34 eval-split prompts, the headline's prompts until 2026-12-05 (now every
     * held-out prompt, {@link GoldEval}). 128 rollouts
     * (32 prompts × 4) per step: with the simulated rater itself as the reward ({@code --reward oracle}) 80 steps of
     * 16 rollouts moved the held-out gold by +0.04 to +0.17, of 64 by +0.22 to +0.45; with the reward model's
     * normalised scores, 64 moved it by +0.12 and +0.18 on seeds 11 and 3, 128 with an interval above 0 in 6 of 7
     * runs over six seeds (docs/measurements/demo.md). 3,600 reward-model steps (~8 passes over its ~7,000 pairs): on the
     * same pairs, 300 / 900 / 1,800 / 3,600 steps ranked the held-out prompts' pairs 0.52 / 0.60 / 0.65 / 0.69
     * (seed 11) and 900 / 3,600 steps 0.65 / 0.77 (seed 7) — the model learns the world's facts slowly, and its
     * held-out loss rises meanwhile (over-confidence) while its ranking still improves. 120 PPO steps: with the
     * reward model at 0.81 (seed 41), 80 steps moved the held-out gold by +0.17 [−0.01, 0.39], 120 by +0.27
     * [0.09, 0.47] at a lower final KL (0.86 against 0.99), for 47 s more alone.
     */
    public static DemoProfile standard() {
        return new DemoProfile("default", 7, 24, 2, 30, 4, 1800, 3600, 120, 128, 2);
    }

    /** This profile with a different task seed ({@code --seed}): another world, other splits, other models. */
    public DemoProfile withTaskSeed(long seed) {
        return new DemoProfile(name, seed, entities, sftModels, pretrainEpochs, sftEpochs, preferences, rewardSteps,
                ppoSteps, ppoBatch, generators);
    }

    /** This profile with a different number of PPO steps ({@code --steps}). */
    public DemoProfile withPpoSteps(int steps) {
        return new DemoProfile(name, taskSeed, entities, sftModels, pretrainEpochs, sftEpochs, preferences, rewardSteps,
                steps, ppoBatch, generators);
    }

    private static void check(String setting, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(setting + " must be between " + min + " and " + max + ", got " + value);
        }
    }
}
