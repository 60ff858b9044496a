package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.scorer.rm.PreferencePair;
import io.salsa.task.RaterChoice;
import io.salsa.task.SimulatedRater;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import io.salsa.task.TaskPrompt;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reward model's question-reading pairs: judged right by the rater, never on a held-out prompt. */
class QuestionPairsTest {

    @TempDir
    Path dir;

    @Test
    void shouldPreferTheTrueAnswerToOffTopicAndWrongOnesOnTrainingPromptsOnly() throws Exception {
        TaskDataset task = TaskDataset.generate(new TaskConfig(11, 12, 0.15, 0.1, 60, 2, 512));
        task.writeTo(dir);
        List<TaskPrompt> prompts = task.prompts("train");
        Set<String> heldOut = Set.of(prompts.get(0).text(), prompts.get(1).text());
        SimulatedRater rater = new SimulatedRater(task.world());
        try (SalsaTokenizer tok = SalsaTokenizer.load(dir)) {
            List<PreferencePair> pairs = QuestionPairs.build(prompts, task.world(), tok, heldOut, new QuestionPairs.Mix(8, 9, 0, 0), 3);

            Map<String, Integer> perPrompt = new HashMap<>();
            Set<String> chosenTexts = new HashSet<>();
            Set<String> rejectedTexts = new HashSet<>();
            for (PreferencePair p : pairs) {
                assertFalse(heldOut.contains(p.group()), "a held-out prompt is never trained on: " + p.group());
                assertFalse(p.tie());
                int promptLength = tok.encode(p.group()).length;
                String chosen = response(tok, p.chosen(), promptLength);
                String rejected = response(tok, p.rejected(), promptLength);
                assertEquals(RaterChoice.A, rater.prefer(p.group(), chosen, rejected),
                        p.group() + ": '" + chosen + "' over '" + rejected + "'");
                assertEquals(tok.eosId(), p.rejected()[p.rejected().length - 1], "a finished answer ends with EOS");
                perPrompt.merge(p.group(), 1, Integer::sum);
                chosenTexts.add(chosen);
                rejectedTexts.add(rejected);
            }
            for (TaskPrompt tp : prompts) {
                if (heldOut.contains(tp.text())) {
                    continue;
                }
                int expected = tp.entity().kind().attributes().size() - 1
                        + (int) task.world().values(tp.attribute()).stream()
                        .filter(v -> !v.equals(tp.answer()) && !v.equals(tp.entity().name())).count();
                assertEquals(expected, perPrompt.get(tp.text()), "all off-topic answers and wrong values of " + tp.text());
            }
            // an off-topic answer is a true sentence the same pairs prefer under the prompt asking for it: a score of
            // the answer alone cannot fit them, the reward model has to read the question
            rejectedTexts.retainAll(chosenTexts);
            assertTrue(rejectedTexts.size() > 10, "sentences both chosen and rejected: " + rejectedTexts.size());

            List<PreferencePair> fewer = QuestionPairs.build(prompts, task.world(), tok, Set.of(), new QuestionPairs.Mix(1, 2, 0, 0), 3);
            long expectedFewer = prompts.stream().mapToLong(tp -> Math.min(1, tp.entity().kind().attributes().size() - 1)
                    + Math.min(2, task.world().values(tp.attribute()).stream()
                    .filter(v -> !v.equals(tp.answer()) && !v.equals(tp.entity().name())).count())).sum();
            assertEquals(expectedFewer, fewer.size());
            assertTrue(fewer.size() > 2 * prompts.size());
            assertThrows(IllegalArgumentException.class,
                    () -> new QuestionPairs.Mix(-1, 0, 0, 0));
        }
    }

    @Test
    void shouldRankOtherEntitiesAnswersAndWrongFactsBelowAnOffTopicAnswerAsTheRaterDoes() throws Exception {
        TaskDataset task = TaskDataset.generate(new TaskConfig(11, 12, 0.15, 0.1, 60, 2, 512));
        task.writeTo(dir);
        List<TaskPrompt> prompts = task.prompts("train");
        SimulatedRater rater = new SimulatedRater(task.world());
        try (SalsaTokenizer tok = SalsaTokenizer.load(dir)) {
            List<PreferencePair> pairs = QuestionPairs.build(prompts, task.world(), tok, Set.of(),
                    new QuestionPairs.Mix(2, 3, 2, 1), 3);
            Map<String, TaskPrompt> byText = new HashMap<>();
            prompts.forEach(tp -> byText.put(tp.text(), tp));
            int otherEntityBelowTruth = 0;
            int otherEntityBelowOffTopic = 0;
            int wrongBelowOffTopic = 0;
            Map<String, Integer> perPrompt = new HashMap<>();
            for (PreferencePair p : pairs) {
                int promptLength = tok.encode(p.group()).length;
                String chosen = response(tok, p.chosen(), promptLength);
                String rejected = response(tok, p.rejected(), promptLength);
                assertEquals(RaterChoice.A, rater.prefer(p.group(), chosen, rejected),
                        p.group() + ": '" + chosen + "' over '" + rejected + "'");
                perPrompt.merge(p.group(), 1, Integer::sum);
                TaskPrompt tp = byText.get(p.group());
                boolean truthChosen = chosen.equals(tp.entity().answer(tp.attribute()));
                boolean otherEntity = task.world().entities().stream()
                        .anyMatch(e -> e != tp.entity() && e.kind().attributes().contains(tp.attribute())
                                && rejected.equals(e.answer(tp.attribute())));
                boolean wrongFact = !otherEntity && rejected.contains(tp.entity().name())
                        && !rater.judge(p.group(), rejected).correct() && rater.judge(p.group(), rejected).wrong();
                if (otherEntity) {
                    if (truthChosen) {
                        otherEntityBelowTruth++;
                    } else {
                        otherEntityBelowOffTopic++;
                        assertTrue(chosen.contains(tp.entity().name()), "the off-topic answer names the asked entity");
                    }
                }
                if (wrongFact && !truthChosen) {
                    wrongBelowOffTopic++;
                }
            }
            // 2 off-topic + 3 wrong + 2 other entities below the truth, 2 other entities and 1 wrong fact below an
            // off-topic answer: at most 10 per prompt (fewer where a kind has fewer attributes or the rater ties)
            perPrompt.values().forEach(n -> assertTrue(n <= 10, "pairs of one prompt: " + n));
            assertTrue(otherEntityBelowTruth > prompts.size(), "other entities below the truth: " + otherEntityBelowTruth);
            assertTrue(otherEntityBelowOffTopic > prompts.size(),
                    "other entities below an off-topic answer: " + otherEntityBelowOffTopic);
            assertTrue(wrongBelowOffTopic > prompts.size() / 2, "wrong facts below an off-topic answer: " + wrongBelowOffTopic);
            // without the two kinds, every pair prefers the true answer
            for (PreferencePair p : QuestionPairs.build(prompts, task.world(), tok, Set.of(),
                    new QuestionPairs.Mix(2, 3, 0, 0), 3)) {
                TaskPrompt tp = byText.get(p.group());
                assertEquals(tp.entity().answer(tp.attribute()),
                        response(tok, p.chosen(), tok.encode(p.group()).length));
            }
        }
    }

    private static String response(SalsaTokenizer tok, int[] sequence, int promptLength) {
        return tok.decode(Arrays.copyOfRange(sequence, promptLength, sequence.length - 1), true);
    }
}
