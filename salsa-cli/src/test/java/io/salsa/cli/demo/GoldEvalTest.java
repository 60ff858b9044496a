package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.cli.report.ResultsTable;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import io.salsa.task.TaskPrompt;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class GoldEvalTest {

    private static final Map<String, String> GOLD = Map.of("gold_start", "0.2", "gold_end", "0.3",
            "gold_delta_ci_low", "0.01", "gold_delta_ci_high", "0.19", "prompts", "34");

    @Test
    void shouldGiveAReplayVerdictOnlyWhenTheReplayStageCountedItsCheckpoints() {
        var done = GoldEval.headline(Map.of("gold-eval", GOLD,
                "replay", Map.of("checkpoints_identical", "81", "steps", "80")), List.of(), 120);
        assertEquals("identical (81 checkpoints, 80 steps re-trained)", done.replay());
        assertEquals(0.3, done.goldEnd(), 1e-12);

        var stopped = GoldEval.headline(Map.of("gold-eval", GOLD, "replay", Map.of()), List.of(), 120);
        assertNull(stopped.replay(), "a replay stage with no outputs (stopped) says nothing, not 'identical (null ...)'");
        assertNull(GoldEval.headline(Map.of("gold-eval", GOLD), List.of(), 120).replay());
    }

    @Test
    void shouldScoreEveryPromptNoStageTrainedOn() {
        TaskDataset task = TaskDataset.generate(new TaskConfig(11, 12, 0.15, 0.1, 60, 2, 512));
        List<TaskPrompt> held = GoldEval.heldOut(task);
        assertEquals(task.prompts("eval").size() + task.prompts("ood").size(), held.size());
        Set<String> trained = task.prompts("train").stream().map(TaskPrompt::text).collect(Collectors.toSet());
        assertTrue(held.stream().noneMatch(p -> trained.contains(p.text())));
        Set<GoldEval.HeldOut> kinds = held.stream().map(GoldEval.HeldOut::of).collect(Collectors.toSet());
        assertEquals(Set.of(GoldEval.HeldOut.values()), kinds, "the task has every kind of held-out prompt");
    }

    @Test
    void shouldBootstrapOverFactsAndBreakTheChangeDownByKind() {
        TaskDataset task = TaskDataset.generate(new TaskConfig(11, 12, 0.15, 0.1, 60, 2, 512));
        List<TaskPrompt> held = GoldEval.heldOut(task);
        // the policy got every unseen fact right (0 → 1) and changed nothing else
        double[] start = new double[held.size()];
        double[] end = new double[held.size()];
        long unseen = 0;
        for (int i = 0; i < held.size(); i++) {
            if (GoldEval.HeldOut.of(held.get(i)) == GoldEval.HeldOut.UNSEEN_FACT) {
                end[i] = 1;
                unseen++;
            }
        }
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        Map<String, String> o = GoldEval.compare(held, start, end, 3, new PrintStream(printed, true,
                StandardCharsets.UTF_8));
        assertEquals(String.valueOf(held.size()), o.get("prompts"));
        assertEquals(String.valueOf(held.stream().map(TaskPrompt::combo).distinct().count()), o.get("facts"));
        assertEquals((double) unseen / held.size(), Double.parseDouble(o.get("gold_delta")), 1e-6);
        assertTrue(Double.parseDouble(o.get("gold_delta_ci_low")) > 0);
        assertEquals(1.0, Double.parseDouble(o.get("unseen_fact.gold_delta_ci_low")), 1e-6, "every resample is 1");
        assertEquals(String.valueOf(unseen), o.get("unseen_fact.prompts"));
        for (String k : List.of("eval.", "new_phrasing.")) {
            assertEquals(0.0, Double.parseDouble(o.get(k + "gold_delta_ci_low")), 0, k);
            assertEquals(0.0, Double.parseDouble(o.get(k + "gold_delta_ci_high")), 0, k);
        }
        int kinds = 0;
        for (GoldEval.HeldOut k : GoldEval.HeldOut.values()) {
            kinds += Integer.parseInt(o.get(k.key + ".prompts"));
        }
        assertEquals(held.size(), kinds, "the kinds split the held-out prompts");
        String text = printed.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("gold score on " + held.size() + " held-out prompts"), text);
        assertTrue(text.contains("unseen_fact"), text);

        ResultsTable table = GoldEval.byKind(o).orElseThrow();
        assertEquals(4, table.rows().size(), "three kinds and all of them");
        assertEquals(List.of(GoldEval.HeldOut.UNSEEN_FACT.description, String.valueOf(unseen),
                o.get("unseen_fact.facts"), "0.000", "1.000", "1.000", "[1.000, 1.000]"), table.rows().get(2));
        assertTrue(GoldEval.byKind(GOLD).isEmpty(), "a run from before the kinds has no table");
        assertEquals(Integer.parseInt(o.get("facts")),
                GoldEval.headline(Map.of("gold-eval", o), List.of(), 1).goldFacts());
    }
}
