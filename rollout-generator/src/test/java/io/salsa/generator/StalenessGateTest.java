package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.generator.StalenessGate.LearnerProgress;
import org.junit.jupiter.api.Test;

class StalenessGateTest {

    @Test
    void shouldCountQueuedLearnerStepsAsVersionsOfStaleness() {
        // 130 rollouts queued at 64 per step: the next one is trained 2 versions after the newest policy
        assertEquals(2, StalenessGate.expectedStaleness(new LearnerProgress(130, 64, 5), 5));
        assertEquals(0, StalenessGate.expectedStaleness(new LearnerProgress(63, 64, 5), 5));
    }

    @Test
    void shouldAddTheGeneratorsOwnWeightLag() {
        assertEquals(3, StalenessGate.expectedStaleness(new LearnerProgress(64, 64, 7), 5));
        assertEquals(0, StalenessGate.expectedStaleness(new LearnerProgress(0, 64, -1), 0), "no policy yet");
    }

    @Test
    void shouldPauseAboveTheVersionBoundAndResumeBelowIt() {
        StalenessGate gate = new StalenessGate(1, 0);
        assertFalse(gate.shouldPause(new LearnerProgress(127, 64, 3), 3));
        assertTrue(gate.shouldPause(new LearnerProgress(128, 64, 3), 3));
        assertTrue(gate.shouldPause(new LearnerProgress(64, 64, 4), 3), "one queued step plus one version behind");
        assertFalse(gate.shouldPause(new LearnerProgress(10, 64, 4), 3));
    }

    @Test
    void shouldPauseAtTheRolloutCap() {
        StalenessGate gate = new StalenessGate(-1, 8);
        assertFalse(gate.shouldPause(new LearnerProgress(7, 1, 0), 0));
        assertTrue(gate.shouldPause(new LearnerProgress(8, 1, 0), 0));
        assertFalse(new StalenessGate(-1, 0).shouldPause(new LearnerProgress(1_000_000, 1, 90), 0), "unbounded");
    }

    @Test
    void shouldRejectBadBounds() {
        assertThrows(IllegalArgumentException.class, () -> new StalenessGate(-2, 0));
        assertThrows(IllegalArgumentException.class, () -> new StalenessGate(0, -1));
        assertThrows(IllegalArgumentException.class, () -> new LearnerProgress(0, 0, 0));
    }
}
