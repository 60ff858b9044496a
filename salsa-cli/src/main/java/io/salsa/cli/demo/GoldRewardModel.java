package io.salsa.cli.demo;

import io.salsa.events.Rollout;
import io.salsa.scorer.RewardScorerModel;
import io.salsa.task.SimulatedRater;
import java.util.List;
import java.util.Optional;

/**
 * The simulated rater as the reward scorer's model ({@code salsa demo --reward oracle}): each rollout's reward is
 * the gold score of its response text to its prompt text. Served under the demo's reward-model name with the
 * largest version, so the scorer keeps it when the reward-model stage announces its trained model.
 */
final class GoldRewardModel implements RewardScorerModel {

    private final SimulatedRater judge;

    GoldRewardModel(SimulatedRater judge) {
        this.judge = judge;
    }

    @Override
    public String name() {
        return FeedbackStages.REWARD_MODEL_NAME;
    }

    /** Above every version the catalog can announce: the scorer never swaps it for a trained model. */
    @Override
    public long version() {
        return Long.MAX_VALUE;
    }

    /** The judge reads text: a rollout without its prompt or response text goes to the dead-letter topic. */
    @Override
    public Optional<String> rejectReason(Rollout rollout) {
        return rollout.getPromptText() == null || rollout.getResponseText() == null
                ? Optional.of("the oracle reward (the simulated rater) needs the rollout's promptText and responseText")
                : Optional.empty();
    }

    @Override
    public float[] score(List<Rollout> batch) {
        float[] scores = new float[batch.size()];
        for (int i = 0; i < scores.length; i++) {
            Rollout r = batch.get(i);
            scores[i] = (float) judge.score(String.valueOf(r.getPromptText()), String.valueOf(r.getResponseText()));
        }
        return scores;
    }

    @Override
    public void close() {
    }
}
