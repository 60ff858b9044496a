package io.salsa.model.train;

/**
 * Hyper-parameters of one SFT run, validated up front with the CLI flag names in the messages.
 *
 * @param epochs       passes over the training data (1..1000)
 * @param lr           peak learning rate ((0, 1))
 * @param batchSize    sequences per step (1..4096)
 * @param warmupSteps  linear warm-up steps (≥ 0)
 * @param maxSteps     stop after this many steps (0 = epochs decide)
 * @param maxGradNorm  global gradient-norm clip (0 = off)
 * @param weightDecay  AdamW decoupled decay of matrices (≥ 0)
 * @param seed         data order (and nothing else: no dropout, the base weights are given)
 */
public record SftConfig(int epochs, double lr, int batchSize, int warmupSteps, int maxSteps, double maxGradNorm,
                        double weightDecay, long seed) {

    public SftConfig {
        if (epochs < 1 || epochs > 1000) {
            throw new IllegalArgumentException("--epochs must be in [1, 1000], got " + epochs);
        }
        if (!(lr > 0 && lr < 1)) {
            throw new IllegalArgumentException("--lr must be in (0, 1), got " + lr);
        }
        if (batchSize < 1 || batchSize > 4096) {
            throw new IllegalArgumentException("--batch-size must be in [1, 4096], got " + batchSize);
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("--warmup must be >= 0, got " + warmupSteps);
        }
        if (maxSteps < 0) {
            throw new IllegalArgumentException("--max-steps must be >= 0 (0 = no limit), got " + maxSteps);
        }
        if (!(maxGradNorm >= 0)) {
            throw new IllegalArgumentException("--max-grad-norm must be >= 0 (0 = off), got " + maxGradNorm);
        }
        if (!(weightDecay >= 0 && weightDecay < 1)) {
            throw new IllegalArgumentException("--weight-decay must be in [0, 1), got " + weightDecay);
        }
    }

    /** The shared loop's settings: these, halting after {@value NonFinitePolicy#DEFAULT_MAX_CONSECUTIVE_SKIPS} non-finite steps in a row. */
    public SupervisedTrainer.Settings settings() {
        return new SupervisedTrainer.Settings(epochs, lr, batchSize, warmupSteps, maxSteps, maxGradNorm, weightDecay,
                seed, NonFinitePolicy.DEFAULT_MAX_CONSECUTIVE_SKIPS);
    }

    /** Defaults that fine-tune the tiny task model well: 3 epochs, lr 5e-4, batch 16, 20 warm-up steps, clip 1.0. */
    public static SftConfig defaults(long seed) {
        return new SftConfig(3, 5e-4, 16, 20, 0, 1.0, 0.0, seed);
    }
}
