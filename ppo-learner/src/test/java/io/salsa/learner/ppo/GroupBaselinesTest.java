package io.salsa.learner.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class GroupBaselinesTest {

    private static final float EPS = 1e-5f;

    @Test
    void grpoNormalisesWithinEachPromptGroup() {
        // group a: 1, 2, 3 -> mean 2, sample std 1 -> -1, 0, 1 (÷ (1 + 1e-9))
        // group b: 5, 5 (constant) -> 0, 0;  group c: one sample -> 0;  null key: a group of one -> 0
        float[] scores = {1, 5, 2, 7, 5, 3, 4};
        List<String> keys = Arrays.asList("a", "b", "a", "c", "b", "a", null);
        assertArrayEquals(new float[] {-1, 0, 0, 0, 0, 1, 0}, GroupBaselines.grpo(scores, keys), EPS);
    }

    @Test
    void grpoUsesTheSampleStandardDeviation() {
        // 0 and 2: mean 1, sample std sqrt(((−1)² + 1²)/1) = 1.4142135 -> ∓0.7071068
        assertArrayEquals(new float[] {-0.7071068f, 0.7071068f},
                GroupBaselines.grpo(new float[] {0, 2}, List.of("p", "p")), EPS);
    }

    @Test
    void rlooSubtractsTheMeanOfTheOthers() {
        // group a: 1, 2, 6 -> 1 − 4 = −3, 2 − 3.5 = −1.5, 6 − 1.5 = 4.5; group b: 4, 4 -> 0, 0; group c alone -> 0
        float[] scores = {1, 4, 2, 9, 6, 4};
        List<String> keys = List.of("a", "b", "a", "c", "a", "b");
        assertArrayEquals(new float[] {-3, 0, -1.5f, 0, 4.5f, 0}, GroupBaselines.rloo(scores, keys), EPS);
    }
}
