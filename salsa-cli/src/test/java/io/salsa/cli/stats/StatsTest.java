package io.salsa.cli.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StatsTest {

    @Test
    void shouldComputeMeanAndSampleSd() {
        // mean 5; squared deviations 9+1+1+9 = 20; /3 → sd = √(20/3)
        Stats.Spread s = Stats.spread(new double[] {2, 4, 6, 8});
        assertEquals(5.0, s.mean(), 1e-12);
        assertEquals(Math.sqrt(20.0 / 3), s.sd(), 1e-12);
        assertEquals("5.00 ± 2.58", s.format(2));
        assertEquals("3.00", Stats.spread(new double[] {3}).format(2));
        assertTrue(Double.isNaN(Stats.sampleSd(new double[] {3})));
    }

    @Test
    void shouldMatchHandComputedSignTests() {
        // 8 vs 2: 2·(C(10,0)+C(10,1)+C(10,2))/2^10 = 2·56/1024
        assertEquals(112.0 / 1024, Stats.signTestPValue(8, 2), 1e-12);
        assertEquals(112.0 / 1024, Stats.signTestPValue(2, 8), 1e-12);
        // 10 vs 0: 2/1024
        assertEquals(2.0 / 1024, Stats.signTestPValue(10, 0), 1e-12);
        // balanced: capped at 1
        assertEquals(1.0, Stats.signTestPValue(5, 5), 1e-12);
        assertEquals(1.0, Stats.signTestPValue(0, 0), 1e-12);
        // 6 vs 1: 2·(1+7)/128 = 0.125
        assertEquals(0.125, Stats.signTestPValue(6, 1), 1e-12);
        // large n stays finite: 600 vs 400 is far from chance
        double p = Stats.signTestPValue(600, 400);
        assertTrue(p > 0 && p < 1e-9, "p = " + p);
    }

    @Test
    void shouldGiveZeroDifferenceAndPOneForIdenticalSamples() {
        double[] a = {1, 2, 3, 4};
        Stats.Bootstrap b = Stats.pairedBootstrap(a, a.clone(), 999, 1);
        assertEquals(0.0, b.meanDiff(), 0);
        assertEquals(0.0, b.ciLow(), 0);
        assertEquals(0.0, b.ciHigh(), 0);
        assertEquals(1.0, b.pValue(), 0);
    }

    @Test
    void shouldGiveTheSmallestPForAConstantPositiveDifference() {
        // every resampled mean is exactly 0.5 > 0: #≤0 = 0 → p = 2·1/(B+1)
        Stats.Bootstrap b = Stats.pairedBootstrap(new double[] {1.5, 2.5, 3.5}, new double[] {1, 2, 3}, 999, 1);
        assertEquals(0.5, b.meanDiff(), 1e-12);
        assertEquals(0.5, b.ciLow(), 1e-12);
        assertEquals(0.5, b.ciHigh(), 1e-12);
        assertEquals(2.0 / 1000, b.pValue(), 1e-12);
    }

    @Test
    void shouldBracketTheMeanDifferenceAndBeReproducible() {
        double[] a = {0.9, 0.4, 0.7, 0.2, 0.8, 0.6};
        double[] b = {0.5, 0.5, 0.3, 0.4, 0.2, 0.5};
        // differences 0.4, -0.1, 0.4, -0.2, 0.6, 0.1 → mean 1.2/6 = 0.2
        Stats.Bootstrap x = Stats.pairedBootstrap(a, b, 2000, 42);
        assertEquals(0.2, x.meanDiff(), 1e-12);
        assertTrue(x.ciLow() < 0.2 && 0.2 < x.ciHigh());
        assertTrue(x.ciLow() >= -0.2 && x.ciHigh() <= 0.6, "resampled means lie within [min d, max d]");
        assertEquals(x, Stats.pairedBootstrap(a, b, 2000, 42));
    }

    @Test
    void shouldResampleWholeClusters() {
        // differences 1, 1, 1 (cluster 7) and -1 (cluster 3): observed mean 0.5 over the pairs. A resample draws two
        // clusters: {7,7} → 1, {3,3} → -1, {7,3} → (3 − 1)/4 = 0.5, so every resampled mean is one of those three.
        double[] a = {2, 2, 2, 0};
        double[] b = {1, 1, 1, 1};
        int[] clusters = {7, 7, 7, 3};
        Stats.Bootstrap x = Stats.pairedClusterBootstrap(a, b, clusters, 4000, 5);
        assertEquals(0.5, x.meanDiff(), 1e-12);
        assertEquals(4, x.pairs());
        assertEquals(-1.0, x.ciLow(), 1e-12, "{3,3} is drawn a quarter of the time");
        assertEquals(1.0, x.ciHigh(), 1e-12, "{7,7} is drawn a quarter of the time");
        // about a quarter of the resamples are ≤ 0: p ≈ 2 · 0.25
        assertEquals(0.5, x.pValue(), 0.05);
        assertEquals(x, Stats.pairedClusterBootstrap(a, b, clusters, 4000, 5));
        // one cluster holding every pair: each resample is the whole sample
        Stats.Bootstrap one = Stats.pairedClusterBootstrap(a, b, new int[] {1, 1, 1, 1}, 999, 5);
        assertEquals(0.5, one.ciLow(), 1e-12);
        assertEquals(0.5, one.ciHigh(), 1e-12);
        assertEquals(2.0 / 1000, one.pValue(), 1e-12);
    }

    @Test
    void shouldWidenTheIntervalWhenClusterMembersMove() {
        // eight clusters of five identical differences: resampling pairs one by one believes 40 independent values
        double[] a = new double[40];
        double[] b = new double[40];
        int[] clusters = new int[40];
        double[] cluster = {0.9, -0.4, 0.6, -0.2, 0.5, 0.1, -0.6, 0.3};
        for (int i = 0; i < 40; i++) {
            a[i] = cluster[i / 5];
            clusters[i] = i / 5;
        }
        Stats.Bootstrap pairs = Stats.pairedBootstrap(a, b, 4000, 9);
        Stats.Bootstrap whole = Stats.pairedClusterBootstrap(a, b, clusters, 4000, 9);
        assertEquals(pairs.meanDiff(), whole.meanDiff(), 1e-12);
        assertTrue(whole.ciHigh() - whole.ciLow() > 1.8 * (pairs.ciHigh() - pairs.ciLow()),
                "√5 ≈ 2.2 times wider, got " + whole + " against " + pairs);
        assertThrows(IllegalArgumentException.class,
                () -> Stats.pairedClusterBootstrap(new double[2], new double[2], new int[1], 10, 1));
        assertThrows(IllegalArgumentException.class,
                () -> Stats.pairedClusterBootstrap(new double[0], new double[0], new int[0], 10, 1));
    }

    @Test
    void shouldInterpolatePercentiles() {
        double[] sorted = {0, 10, 20, 30, 40};
        assertEquals(0, Stats.percentile(sorted, 0), 0);
        assertEquals(40, Stats.percentile(sorted, 1), 0);
        assertEquals(10, Stats.percentile(sorted, 0.25), 1e-12);
        assertEquals(5, Stats.percentile(sorted, 0.125), 1e-12);
    }

    @Test
    void shouldRefuseUnpairedInput() {
        assertThrows(IllegalArgumentException.class, () -> Stats.pairedBootstrap(new double[2], new double[3], 10, 1));
        assertThrows(IllegalArgumentException.class, () -> Stats.pairedBootstrap(new double[0], new double[0], 10, 1));
        assertThrows(IllegalArgumentException.class, () -> Stats.signTestPValue(-1, 2));
    }
}
