package io.salsa.scorer.rm;

/**
 * Hyper-parameters of reward-model training, validated so a bad value is named with its range.
 *
 * @param epochs          passes over the training pairs (1-1000)
 * @param lr              peak learning rate of AdamW (0, 1]
 * @param batchSize       preference pairs per step (1-1024); the model sees twice as many sequences
 * @param warmupSteps     linear warm-up steps (≥ 0), then linear decay to 0
 * @param maxSteps        stop after this many steps (0 = no limit)
 * @param maxGradNorm     global gradient-norm clip (> 0)
 * @param weightDecay     AdamW decoupled weight decay on matrices [0, 1]
 * @param heldOutFraction share of prompts whose pairs are held out for evaluation [0, 0.9]
 * @param seed            data order and train/held-out split
 */
public record RmTrainConfig(int epochs, double lr, int batchSize, int warmupSteps, int maxSteps, double maxGradNorm,
                            double weightDecay, double heldOutFraction, long seed) {

    public RmTrainConfig {
        range("--epochs", epochs, 1, 1000);
        if (!(lr > 0 && lr <= 1)) {
            throw new IllegalArgumentException("--lr must be in (0, 1], got " + lr);
        }
        range("--batch-size", batchSize, 1, 1024);
        range("--warmup-steps", warmupSteps, 0, Integer.MAX_VALUE);
        range("--max-steps", maxSteps, 0, Integer.MAX_VALUE);
        if (!(maxGradNorm > 0)) {
            throw new IllegalArgumentException("--max-grad-norm must be > 0, got " + maxGradNorm);
        }
        if (!(weightDecay >= 0 && weightDecay <= 1)) {
            throw new IllegalArgumentException("--weight-decay must be in [0, 1], got " + weightDecay);
        }
        if (!(heldOutFraction >= 0 && heldOutFraction <= 0.9)) {
            throw new IllegalArgumentException("--held-out must be in [0, 0.9], got " + heldOutFraction);
        }
    }

    private static void range(String name, int v, int min, int max) {
        if (v < min || v > max) {
            throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "], got " + v);
        }
    }

    /** TRL's RewardTrainer-like defaults scaled to the small models here. */
    public static RmTrainConfig defaults(long seed) {
        return new RmTrainConfig(2, 1e-4, 16, 10, 0, 1.0, 0.0, 0.2, seed);
    }

    public RmTrainConfig withSteps(int epochs, int maxSteps) {
        return new RmTrainConfig(epochs, lr, batchSize, warmupSteps, maxSteps, maxGradNorm, weightDecay,
                heldOutFraction, seed);
    }

    public RmTrainConfig withLr(double newLr, int newBatchSize) {
        return new RmTrainConfig(epochs, newLr, newBatchSize, warmupSteps, maxSteps, maxGradNorm, weightDecay,
                heldOutFraction, seed);
    }

    /** This configuration with another seed: another data order (and split, where the caller splits with it). */
    public RmTrainConfig withSeed(long newSeed) {
        return new RmTrainConfig(epochs, lr, batchSize, warmupSteps, maxSteps, maxGradNorm, weightDecay,
                heldOutFraction, newSeed);
    }
}
