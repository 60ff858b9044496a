package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Map;
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
}
