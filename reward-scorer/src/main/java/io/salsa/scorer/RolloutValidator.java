package io.salsa.scorer;

import io.salsa.events.Rollout;
import java.util.List;
import java.util.Optional;

/**
 * Checks the invariants every consumer of a rollout relies on, so a malformed one goes to the dead-letter
 * topic with a reason instead of poisoning a reward-model batch or the learner downstream.
 */
public final class RolloutValidator {

    /** log π(token) is ≤ 0; a little slack absorbs float rounding in the generator's log-softmax. */
    static final float MAX_LOG_PROB = 1e-4f;

    private RolloutValidator() {
    }

    /** The first broken invariant, described for humans, or empty when the rollout is valid. */
    public static Optional<String> problem(Rollout r) {
        if (r.getRolloutId() == null || r.getRolloutId().isBlank()) {
            return Optional.of("rolloutId is empty");
        }
        if (r.getPromptId() == null || r.getPromptId().isBlank()) {
            return Optional.of("promptId is empty (rollout " + r.getRolloutId() + ")");
        }
        List<Integer> response = r.getResponseTokenIds();
        List<Float> logProbs = r.getBehaviourLogProbs();
        if (response == null || response.isEmpty()) {
            return Optional.of("responseTokenIds is empty (rollout " + r.getRolloutId() + ")");
        }
        if (logProbs == null || logProbs.size() != response.size()) {
            return Optional.of("behaviourLogProbs has " + (logProbs == null ? 0 : logProbs.size())
                    + " entries but responseTokenIds has " + response.size() + " (rollout " + r.getRolloutId() + ")");
        }
        Optional<String> badId = firstNegative("promptTokenIds", r.getPromptTokenIds(), r.getRolloutId());
        if (badId.isPresent()) {
            return badId;
        }
        badId = firstNegative("responseTokenIds", response, r.getRolloutId());
        if (badId.isPresent()) {
            return badId;
        }
        for (int i = 0; i < logProbs.size(); i++) {
            float lp = logProbs.get(i);
            if (!Float.isFinite(lp) || lp > MAX_LOG_PROB) {
                return Optional.of("behaviourLogProbs[" + i + "] = " + lp + " is not a log-probability"
                        + " (must be finite and <= 0; rollout " + r.getRolloutId() + ")");
            }
        }
        if (r.getPolicyVersion() < 0) {
            return Optional.of("policyVersion is negative: " + r.getPolicyVersion() + " (rollout " + r.getRolloutId() + ")");
        }
        return Optional.empty();
    }

    private static Optional<String> firstNegative(String field, List<Integer> ids, String rolloutId) {
        if (ids == null) {
            return Optional.of(field + " is missing (rollout " + rolloutId + ")");
        }
        for (int i = 0; i < ids.size(); i++) {
            if (ids.get(i) < 0) {
                return Optional.of(field + "[" + i + "] = " + ids.get(i) + " is not a token id (rollout " + rolloutId + ")");
            }
        }
        return Optional.empty();
    }
}
