package io.salsa.scorer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.Device;
import io.salsa.events.Rollout;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The token-pair entry point of the GPT reward model scores exactly what the rollout entry point scores. */
class LmRewardScorerModelTest {

    @Test
    void shouldScoreTokenPairsExactlyAsTheEquivalentRollouts() {
        // n_positions 8 < prompt (3) + the longest response (9): the left cut must match too
        GptConfig tiny = GptConfig.of(1, 2, 16, 32, 8, 0, 1);
        List<Rollout> rollouts = List.of(TestRollouts.rolloutOfLength("a", "p", 10, 2),
                TestRollouts.rolloutOfLength("b", "p", 11, 9), TestRollouts.rolloutOfLength("c", "p", 4, 1));
        List<int[]> prompts = new ArrayList<>();
        List<int[]> responses = new ArrayList<>();
        for (Rollout r : rollouts) {
            prompts.add(r.getPromptTokenIds().stream().mapToInt(Integer::intValue).toArray());
            responses.add(r.getResponseTokenIds().stream().mapToInt(Integer::intValue).toArray());
        }
        try (LmRewardScorerModel rm = new LmRewardScorerModel(
                GptModel.random(tiny, GptModel.Head.SCORE, 9, Device.cpu()), "rm", 1)) {
            assertArrayEquals(rm.score(rollouts), rm.score(prompts, responses), 0f);
            assertThrows(IllegalArgumentException.class, () -> rm.score(prompts, responses.subList(0, 2)));
        }
    }
}
