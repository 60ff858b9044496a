package io.salsa.cli.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.cli.report.ResultsTable;
import io.salsa.cli.stats.Stats;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The β sweep's frontier and the matched-KL comparison on outcomes whose answers are worked out by hand. */
class KlFrontierTest {

    /** A run whose prompts all have the same gold and KL, so every bootstrap resample has the same means. */
    private static ArmEvaluation flat(String arm, double beta, long seed, double kl, double gold) {
        List<PromptOutcome> outcomes = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            outcomes.add(new PromptOutcome("p" + i, gold, 0, kl, 3));
        }
        return new ArmEvaluation(arm, beta, seed, "ood", outcomes);
    }

    @Test
    void shouldInterpolateLinearlyAndClampAtTheEnds() {
        double[][] curve = {{0.1, 1.0}, {0.3, 2.0}, {0.3, 4.0}};
        assertEquals(1.5, KlFrontier.interpolate(curve, 0.2), 1e-12);
        assertEquals(1.0, KlFrontier.interpolate(curve, 0.0), 1e-12);
        assertEquals(3.0, KlFrontier.interpolate(curve, 0.5), 1e-12, "points at the same KL are averaged");
    }

    @Test
    void shouldCompareTwoArmsInTheMiddleOfTheirCommonKlRange() {
        // arm a: (KL 1, gold 0), (KL 3, gold 2); baseline b: (KL 2, gold 0.5), (KL 4, gold 0.5)
        // common range [2, 3], matched KL 2.5: a's gold 1.5, b's 0.5 → Δ = 1.0 in every resample
        List<ArmEvaluation> a = List.of(flat("a", 0.2, 1, 1, 0), flat("a", 0.05, 1, 3, 2));
        List<ArmEvaluation> b = List.of(flat("b", 0.2, 1, 2, 0.5), flat("b", 0.05, 1, 4, 0.5));
        KlFrontier.Matched m = assertMatched(a, b, true, 2, 3, 1.0);
        assertEquals(2.5, m.kl(), 1e-12);
        assertEquals(1.5, m.goldArm(), 1e-12);
        assertEquals(0.5, m.goldBase(), 1e-12);
        assertEquals(1.0, m.diff().ciLow(), 1e-12);
        assertEquals(1.0, m.diff().ciHigh(), 1e-12);
        // no resample at or below 0: p = 2·(0 + 1)/(B + 1)
        assertEquals(2.0 / (KlFrontier.RESAMPLES + 1), m.diff().pValue(), 1e-12);
    }

    @Test
    void shouldFallBackToTheClosestPointsWhenTheRangesDoNotOverlap() {
        List<ArmEvaluation> a = List.of(flat("a", 0.1, 1, 0.1, 1), flat("a", 0.2, 1, 0.2, 2));
        List<ArmEvaluation> b = List.of(flat("b", 0.1, 1, 0.5, 0), flat("b", 0.2, 1, 0.9, 5));
        // a's point at KL 0.2 (gold 2) against b's at KL 0.5 (gold 0)
        assertMatched(a, b, false, 0.2, 0.5, 2.0);
        ResultsTable t = KlFrontier.matchedTable("ood", concat(a, b), List.<String[]>of(new String[] {"a", "b"}))
                .orElseThrow();
        assertEquals("not at matched KL", t.rows().get(0).get(7));
        assertTrue(t.rows().get(0).get(1).startsWith("none"), t.rows().get(0).get(1));
    }

    @Test
    void shouldFindNoDifferenceBetweenTwoArmsWithTheSameOutcomes() {
        List<ArmEvaluation> a = new ArrayList<>();
        List<ArmEvaluation> b = new ArrayList<>();
        for (double beta : new double[] {0.05, 0.1, 0.2}) {
            List<PromptOutcome> outcomes = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                outcomes.add(new PromptOutcome("p" + i, (i * 7 % 11) / 11.0 - beta, 0, 1 / beta + i % 3, 3));
            }
            a.add(new ArmEvaluation("a", beta, 1, "ood", outcomes));
            b.add(new ArmEvaluation("b", beta, 1, "ood", outcomes));
        }
        KlFrontier.Matched m = KlFrontier.matched(a, b).orElseThrow();
        assertEquals(0, m.diff().meanDiff(), 1e-12);
        assertTrue(m.diff().ciLow() < 0 && m.diff().ciHigh() > 0, m.diff().toString());
        assertTrue(m.diff().pValue() > 0.5);
    }

    @Test
    void shouldPoolSeedsIntoOnePointPerArmAndBeta() {
        Map<String, List<KlFrontier.Point>> points = KlFrontier.points(List.of(
                flat("a", 0.1, 1, 0.5, 1), flat("a", 0.1, 2, 1.5, 3), flat("a", 0.05, 1, 2, 0)));
        List<KlFrontier.Point> a = points.get("a");
        assertEquals(List.of(0.05, 0.1), a.stream().map(KlFrontier.Point::klCoef).toList());
        KlFrontier.Point p = a.get(1);
        assertEquals(2, p.seeds());
        assertEquals(12, p.outcomes());
        assertEquals(1.0, p.kl(), 1e-12);
        Stats.Bootstrap gold = p.gold();
        assertEquals(2.0, gold.meanDiff(), 1e-12);
        assertTrue(gold.ciLow() >= 1 && gold.ciLow() < 2 && gold.ciHigh() > 2 && gold.ciHigh() <= 3, gold.toString());
    }

    private static KlFrontier.Matched assertMatched(List<ArmEvaluation> a, List<ArmEvaluation> b,
                                                    boolean interpolated, double low, double high, double diff) {
        KlFrontier.Matched m = KlFrontier.matched(a, b).orElseThrow();
        assertEquals(interpolated, m.interpolated());
        assertEquals(low, m.overlapLow(), 1e-12);
        assertEquals(high, m.overlapHigh(), 1e-12);
        assertEquals(diff, m.diff().meanDiff(), 1e-12);
        return m;
    }

    private static List<ArmEvaluation> concat(List<ArmEvaluation> a, List<ArmEvaluation> b) {
        List<ArmEvaluation> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
