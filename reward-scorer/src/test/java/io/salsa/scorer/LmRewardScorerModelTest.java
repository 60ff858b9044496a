package io.salsa.scorer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.salsa.events.Rollout;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.Precision;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    /**
     * {@code SALSA_SCORER_PRECISION=fp16}: the reward model is loaded frozen with float16 weights (half the bytes) and
     * scores exactly what the float32 model holding the same float16 values scores with fp16 autocast; the default
     * float32 load is the plain float32 model.
     */
    @Test
    void shouldScoreWithAFrozenFloat16ModelWhenLoadedAtFp16(@TempDir Path dir) throws Exception {
        GptConfig tiny = GptConfig.of(2, 2, 16, 32, 16, 0, 1);
        try (GptModel m = GptModel.random(tiny, GptModel.Head.SCORE, 11, Device.cpu())) {
            m.save(dir);
        }
        List<int[]> prompts = List.of(new int[] {3, 4, 5}, new int[] {7});
        List<int[]> responses = List.of(new int[] {9, 10}, new int[] {12, 13, 14, 2});
        try (LmRewardScorerModel half = LmRewardScorerModel.load(dir, "rm", 1, Device.cpu(), Precision.FP16);
             LmRewardScorerModel full = LmRewardScorerModel.load(dir, "rm", 1, Device.cpu());
             LmRewardScorerModel plain = new LmRewardScorerModel(GptModel.load(dir, GptModel.Head.SCORE, Device.cpu()),
                     "rm", 1)) {
            assertEquals(DataType.FLOAT16, half.lm().weightType());
            assertEquals(Precision.FP16, half.lm().precision());
            assertEquals(DataType.FLOAT32, full.lm().weightType());
            assertEquals(Precision.FP32, full.lm().precision());
            assertEquals(full.lm().weightBytes(), 2 * half.lm().weightBytes());
            assertArrayEquals(plain.score(prompts, responses), full.score(prompts, responses), 0f,
                    "the default is the float32 model");
            plain.lm().copyWeightsFrom(half.lm());
            plain.lm().setPrecision(Precision.FP16);
            assertArrayEquals(plain.score(prompts, responses), half.score(prompts, responses), 0f,
                    "float16 weights = the cast-per-forward path on the same values");
        }
    }
}
