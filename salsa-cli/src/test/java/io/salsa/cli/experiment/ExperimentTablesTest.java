package io.salsa.cli.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.cli.report.ResultsTable;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExperimentTablesTest {

    private static ArmEvaluation run(String arm, long seed, double... gold) {
        List<PromptOutcome> outcomes = new ArrayList<>();
        for (int i = 0; i < gold.length; i++) {
            outcomes.add(new PromptOutcome("p" + i, gold[i], gold[i] * 2, 0.1 * seed, 10 + i));
        }
        return new ArmEvaluation(arm, 0.1, seed, "in-distribution", outcomes);
    }

    @Test
    void shouldTallyHeadToHeadPerPromptAndSeed() {
        List<ArmEvaluation> evals = List.of(
                run("salsa-k2", 1, 1, 1, 1, 0),
                run("ppo", 1, 0, 0, 1, 1),
                run("salsa-k2", 2, 1, 1, 1, 1),
                run("ppo", 2, 0, 0, 0, 0));
        List<ResultsTable> tables = ExperimentTables.build(evals, "ppo");
        assertEquals(2, tables.size());
        List<String> h2h = tables.get(1).rows().get(0);
        // seed 1: W W T L; seed 2: W W W W → 6 wins, 1 tie, 1 loss
        assertEquals(List.of("salsa-k2 vs ppo", "6", "1", "1"), h2h.subList(0, 4));
        // win rates 2.5/4 = 0.625 and 1.0 → mean 0.8125, sd |1 − 0.625|/√2 = 0.265
        assertEquals("0.813 ± 0.265", h2h.get(4));
        // sign test 6 vs 1: 2·(1 + 7)/128 = 0.125
        assertEquals("0.125", h2h.get(5));
        assertTrue(h2h.get(6).startsWith("+0.6250"), h2h.get(6));
        assertEquals("no", h2h.get(8));

        List<String> salsaRow = tables.get(0).rows().get(0);
        // per-seed means of gold: 0.75 and 1.0 → 0.875 ± 0.177
        assertEquals("0.875 ± 0.177", salsaRow.get(3));
        assertEquals("2", salsaRow.get(1));
    }

    @Test
    void shouldPairOnlyPromptsBothArmsAnswered() {
        ArmEvaluation a = run("a", 1, 1, 2, 3);
        ArmEvaluation b = new ArmEvaluation("b", 0.1, 1, "ood", List.of(new PromptOutcome("p2", 5, 0, 0, 1),
                new PromptOutcome("p0", 7, 0, 0, 1)));
        double[][] p = ExperimentTables.pairByPrompt(a, b);
        assertEquals(List.of(1.0, 3.0), List.of(p[0][0], p[0][1]));
        assertEquals(List.of(7.0, 5.0), List.of(p[1][0], p[1][1]));
    }
}
