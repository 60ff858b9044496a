package io.salsa.cli.experiment;

import io.salsa.cli.stats.Stats;
import java.util.List;
import java.util.Objects;

/**
 * One arm's final policy, trained with one seed, evaluated on one split of held-out prompts.
 *
 * @param arm      arm name ({@code salsa-k2}, {@code ppo}, {@code salsa-k4}, {@code grpo-soup} …)
 * @param klCoef   the KL coefficient β the run was trained with
 * @param seed     training seed; arms with the same seed saw the same prompts, so they pair up
 * @param split    {@code in-distribution} or {@code ood}
 * @param outcomes one outcome per held-out prompt
 */
public record ArmEvaluation(String arm, double klCoef, long seed, String split, List<PromptOutcome> outcomes) {

    public ArmEvaluation {
        Objects.requireNonNull(arm, "arm");
        Objects.requireNonNull(split, "split");
        outcomes = List.copyOf(outcomes);
    }

    double mean(java.util.function.ToDoubleFunction<PromptOutcome> f) {
        return Stats.mean(outcomes.stream().mapToDouble(f).toArray());
    }
}
