package io.salsa.cli.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import java.util.List;
import org.junit.jupiter.api.Test;

class SequenceKlTest {

    private static final GptConfig CONFIG = GptConfig.of(1, 2, 16, 24, 32, 0, 1);

    @Test
    void shouldBeZeroAgainstItselfAndPositiveAgainstAnotherModel() {
        try (GptModel a = GptModel.random(CONFIG, GptModel.Head.NONE, 1, Device.cpu());
             GptModel b = GptModel.random(CONFIG, GptModel.Head.NONE, 2, Device.cpu())) {
            List<int[]> queries = List.of(new int[] {5, 6, 7}, new int[] {9});
            List<int[]> responses = List.of(new int[] {3, 4}, new int[] {10, 11, 12, 0});

            double[] self = SequenceKl.klAlongResponses(a, a, queries, responses, 1);
            assertEquals(0.0, self[0], 1e-6);
            assertEquals(0.0, self[1], 1e-6);

            double[] other = SequenceKl.klAlongResponses(a, b, queries, responses, 1);
            assertTrue(other[0] > 0 && other[1] > 0, java.util.Arrays.toString(other));

            // padding a batch does not change a row's KL: the first pair alone gives the same value
            double[] alone = SequenceKl.klAlongResponses(a, b, queries.subList(0, 1), responses.subList(0, 1), 1);
            assertEquals(other[0], alone[0], 1e-5);
        }
    }
}
