package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PpoLearnerProgressTest {

    @Test
    void shouldRateStepsFromTheFirstBatchAndEstimateTheRest() {
        // resumed at step 10, 2 steps done 3 s after the first batch arrived (however long the wait before it)
        assertEquals("1.50 s/step ETA 12s", PpoLearner.progress(12, 10, 20, 3.0));
    }

    @Test
    void shouldGiveNoEtaForARunWithoutEnd() {
        assertEquals("0.25 s/step", PpoLearner.progress(4, 0, Long.MAX_VALUE, 1.0));
    }
}
