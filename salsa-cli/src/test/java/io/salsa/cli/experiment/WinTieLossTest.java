package io.salsa.cli.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class WinTieLossTest {

    @Test
    void shouldCountWithinToleranceAsTie() {
        double[] salsa = {1.0, 0.5, 0.2, 0.30, 0.9};
        double[] ppo = {0.5, 0.5, 0.4, 0.301, 0.1};
        WinTieLoss w = WinTieLoss.count(salsa, ppo, 0.01);
        assertEquals(new WinTieLoss(2, 2, 1), w);
        assertEquals((2 + 1.0) / 5, w.winRate(), 1e-12);
        // 2 vs 1: 2·(1 + 3)/8 = 1 → capped at 1
        assertEquals(1.0, w.signTestPValue(), 1e-12);
    }

    @Test
    void shouldAddTallies() {
        assertEquals(new WinTieLoss(3, 1, 5), new WinTieLoss(1, 0, 2).plus(new WinTieLoss(2, 1, 3)));
    }

    @Test
    void shouldRefuseBadInput() {
        assertThrows(IllegalArgumentException.class, () -> WinTieLoss.count(new double[1], new double[2], 0));
        assertThrows(IllegalArgumentException.class, () -> WinTieLoss.count(new double[1], new double[1], -1));
    }
}
