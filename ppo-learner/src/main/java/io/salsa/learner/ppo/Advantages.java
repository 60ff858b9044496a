package io.salsa.learner.ppo;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-token advantages and returns of one batch for the configured {@link Algorithm}, kept apart from
 * {@link PpoStep} so the step reads the same for PPO and the critic-free algorithms.
 *
 * <p>PPO: TRL's KL-penalised per-token rewards, optional reward whitening, GAE(γ, λ) with the value head, optional
 * advantage whitening. GRPO: the group-normalised score broadcast to the real response tokens (the KL is a loss term
 * in {@link PpoStep}, not a reward). RLOO: per-token rewards −β·KL_t plus the leave-one-out score at the last token,
 * advantages = the rewards-to-go (GAE with V = 0 and λ = 1, OpenRLHF's cumulative returns). The critic-free
 * algorithms ignore {@code whiten_rewards} and {@code whiten_advantages} (their baseline already centres the
 * score, as in OpenRLHF) and return the advantages as returns, which no value loss uses.
 */
final class Advantages {

    private Advantages() {}

    /**
     * @param kl per-token KL estimates, zero on padding
     * @param scores sequence scores after the missing-EOS penalty, {@code [batch]}
     * @param values the value head's per-token values (PPO only)
     */
    static PpoMath.Gae of(PpoConfig config, List<TrainingSample> batch, NDArray kl, NDArray scores, NDArray values,
            NDArray mask, double klCoef) {
        return switch (config.algorithm()) {
            case PPO -> {
                NDArray rewards = PpoMath.perTokenRewards(kl, scores, mask, klCoef);
                if (config.whitenRewards()) {
                    rewards = PpoMath.whitenRewards(rewards, mask);
                }
                PpoMath.Gae gae = PpoMath.gae(rewards, values, mask, config.gamma(), config.lam());
                NDArray advantages = config.whitenAdvantages()
                        ? PpoMath.whitenAdvantages(gae.advantages(), mask)
                        : gae.advantages();
                yield new PpoMath.Gae(advantages, gae.returns());
            }
            case GRPO -> {
                float[] seq = GroupBaselines.grpo(scores.toFloatArray(), groupKeys(batch));
                NDArray advantages = scores.getManager().create(seq).expandDims(1).mul(mask);
                yield new PpoMath.Gae(advantages, advantages);
            }
            case RLOO -> {
                float[] seq = GroupBaselines.rloo(scores.toFloatArray(), groupKeys(batch));
                NDArray rewards = PpoMath.perTokenRewards(kl, scores.getManager().create(seq), mask, klCoef);
                NDArray advantages = PpoMath.gae(rewards, values.zerosLike(), mask, config.gamma(), 1.0).advantages();
                yield new PpoMath.Gae(advantages, advantages);
            }
        };
    }

    private static List<String> groupKeys(List<TrainingSample> batch) {
        List<String> keys = new ArrayList<>(batch.size());
        for (TrainingSample s : batch) {
            keys.add(s.groupKey());
        }
        return keys;
    }
}
