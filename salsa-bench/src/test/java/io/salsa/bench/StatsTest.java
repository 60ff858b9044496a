package io.salsa.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StatsTest {

    @Test
    void shouldGiveMeanAndSampleStandardDeviation() {
        double[] v = {1, 2, 3, 4};
        assertEquals(2.5, Stats.mean(v), 1e-12);
        assertEquals(Math.sqrt(5.0 / 3), Stats.stddev(v, 2.5), 1e-12);
    }

    @Test
    void shouldTakeTheUpperMiddleAsMedianWithoutSortingTheInput() {
        double[] odd = {5, 1, 3};
        assertEquals(3, Stats.median(odd));
        assertArrayEquals(new double[] {5, 1, 3}, odd);
        assertEquals(3, Stats.median(new double[] {4, 1, 3, 2}));
    }

    @Test
    void shouldTakeNearestRankPercentiles() {
        long[] sorted = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
        assertEquals(50, Stats.percentile(sorted, 0.50));
        assertEquals(100, Stats.percentile(sorted, 0.99));
        assertEquals(100, Stats.percentile(sorted, 1.0));
        assertEquals(10, Stats.percentile(sorted, 0.0));
        assertTrue(Double.isNaN(Stats.percentile(new long[0], 0.5)));
    }
}
