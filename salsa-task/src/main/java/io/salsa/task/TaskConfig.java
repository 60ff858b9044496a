package io.salsa.task;

/**
 * Settings of the built-in task generator, validated so a bad value is named with its allowed range.
 *
 * @param seed             world and split seed
 * @param entities         number of invented entities ({@value TaskWorld#MIN_ENTITIES}..{@value TaskWorld#MAX_ENTITIES})
 * @param oodComboFraction share of entity–attribute combinations held out of training, per attribute (0.05..0.5)
 * @param evalFraction     share of in-distribution questions kept for evaluation (0.01..0.5)
 * @param preferencePairs  preference pairs to write (0..1,000,000)
 * @param pretrainVariants shuffled fact documents per entity in the pretraining corpus (1..100)
 * @param vocabLimit       largest tokenizer vocabulary (258..65536)
 */
public record TaskConfig(long seed, int entities, double oodComboFraction, double evalFraction, int preferencePairs,
        int pretrainVariants, int vocabLimit) {

    public static final int DEFAULT_ENTITIES = 48;

    public TaskConfig {
        check("entities", entities, TaskWorld.MIN_ENTITIES, TaskWorld.MAX_ENTITIES);
        check("oodComboFraction", oodComboFraction, 0.05, 0.5);
        check("evalFraction", evalFraction, 0.01, 0.5);
        check("preferencePairs", preferencePairs, 0, 1_000_000);
        check("pretrainVariants", pretrainVariants, 1, 100);
        check("vocabLimit", vocabLimit, 258, 65536);
    }

    /** Defaults for {@code seed} and {@code entities}: 15% OOD combinations, 10% eval, 1000 pairs, 8 variants, ≤1024 tokens. */
    public static TaskConfig defaults(long seed, int entities) {
        return new TaskConfig(seed, entities, 0.15, 0.10, 1000, 8, 1024);
    }

    private static void check(String name, double value, double min, double max) {
        if (!(value >= min && value <= max)) {
            throw new IllegalArgumentException(name + " must be in " + fmt(min) + ".." + fmt(max) + ", got " + fmt(value));
        }
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
