package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.salsa.events.BatchManifest;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The learner's pace the staleness gate divides by: rollouts a step trained on, not records it skipped. */
class LearnerWatchTest {

    private static BatchManifest manifest(int records, int droppedStale) {
        return new BatchManifest("run", 3L, 7L, List.of(), records, droppedStale, "soup", 1L, 2L, 3L, 0L, 0, 0);
    }

    @Test
    void shouldCountOnlyTheRolloutsAStepTrainedOn() {
        assertEquals(8, LearnerWatch.usedPerStep(manifest(8, 0)));
        assertEquals(8, LearnerWatch.usedPerStep(manifest(88, 80)));
        assertEquals(1, LearnerWatch.usedPerStep(manifest(5, 5)), "never 0: the gate divides by it");
    }
}
