package io.salsa.scorer.rm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class BradleyTerryTest {

    @Test
    void shouldBeMinusLogSigmoidOfTheMarginForAStrictPreference() {
        assertEquals(Math.log(2), BradleyTerry.loss(0, 0, 1), 1e-12);
        double d = 1.5;
        assertEquals(-Math.log(1 / (1 + Math.exp(-d))), BradleyTerry.loss(d, 0, 1), 1e-12);
        assertEquals(0, BradleyTerry.loss(1000, 0, 1), 1e-12, "stable for large margins");
        assertEquals(1000, BradleyTerry.loss(0, 1000, 1), 1e-9, "stable for large negative margins");
    }

    @Test
    void shouldTreatATieSymmetricallyWithItsMinimumAtEqualRewards() {
        assertEquals(BradleyTerry.loss(2, 0, 0.5), BradleyTerry.loss(0, 2, 0.5), 1e-12);
        assertEquals(Math.log(2), BradleyTerry.loss(3, 3, 0.5), 1e-12);
        assertEquals(true, BradleyTerry.loss(0.1, 0, 0.5) > BradleyTerry.loss(0, 0, 0.5));
    }

    @Test
    void shouldMatchTheScalarLossOnArrays() {
        float[] a = {2f, -1f, 0.5f, 30f};
        float[] b = {0f, 1f, 0.5f, -30f};
        float[] t = {1f, 1f, 0.5f, 0.5f};
        double expected = 0;
        for (int i = 0; i < a.length; i++) {
            expected += BradleyTerry.loss(a[i], b[i], t[i]);
        }
        try (NDManager m = NDManager.newBaseManager()) {
            float got = BradleyTerry.loss(m.create(a), m.create(b), m.create(t)).getFloat();
            assertEquals(expected / a.length, got, 1e-5);
        }
    }

    @Test
    void shouldCountAccuracyOverStrictPairsOnly() {
        float[] c = {1, 0, 2, 5};
        float[] r = {0, 1, 2, 9};
        boolean[] tie = {false, false, false, true};
        assertEquals((1 + 0 + 0.5) / 3, BradleyTerry.accuracy(c, r, tie), 1e-12);
        assertEquals(Double.NaN, BradleyTerry.accuracy(new float[] {1}, new float[] {0}, new boolean[] {true}));
    }
}
