package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.ModelFolder;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.task.SimulatedRater;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeldOutEvaluatorTest {

    @Test
    void scoresGreedyAnswersOfTheTaskEvalSplitDeterministically(@TempDir Path tmp) throws Exception {
        TaskDataset data = TaskDataset.generate(TaskConfig.defaults(42, TaskConfig.DEFAULT_ENTITIES));
        Files.writeString(tmp.resolve(ModelFolder.TOKENIZER), data.tokenizerJson());
        int vocab;
        try (SalsaTokenizer tok = SalsaTokenizer.load(tmp)) {
            vocab = tok.vocabSize();
        }
        try (GptModel policy = GptModel.random(GptConfig.of(1, 2, 16, vocab, 64, 0, 1), GptModel.Head.VALUE, 3,
                Device.cpu());
                HeldOutEvaluator eval = HeldOutEvaluator.forTask(42, TaskConfig.DEFAULT_ENTITIES, 4, 8, tmp)) {
            double first = eval.evaluate(policy);
            assertTrue(Double.isFinite(first));
            assertEquals(first, eval.evaluate(policy), 0.0, "greedy decoding makes the score a function of the weights");
        }
    }

    @Test
    void scoresAnyPromptsInTheirOrder(@TempDir Path tmp) throws Exception {
        TaskDataset data = TaskDataset.generate(TaskConfig.defaults(42, TaskConfig.DEFAULT_ENTITIES));
        Files.writeString(tmp.resolve(ModelFolder.TOKENIZER), data.tokenizerJson());
        int vocab;
        try (SalsaTokenizer tok = SalsaTokenizer.load(tmp)) {
            vocab = tok.vocabSize();
        }
        SimulatedRater rater = new SimulatedRater(data.world());
        List<String> prompts = List.of(data.prompts("ood").get(0).text(), data.prompts("eval").get(0).text(),
                data.prompts("ood").get(0).text());
        try (GptModel policy = GptModel.random(GptConfig.of(1, 2, 16, vocab, 64, 0, 1), GptModel.Head.VALUE, 3,
                Device.cpu());
                HeldOutEvaluator eval = HeldOutEvaluator.forPrompts(rater, prompts, 8, tmp)) {
            double[] scores = eval.scores(policy);
            assertEquals(3, scores.length);
            assertEquals(scores[0], scores[2], 0.0, "the same prompt, the same greedy answer");
            assertEquals((scores[0] + scores[1] + scores[2]) / 3, eval.evaluate(policy), 1e-12);
        }
        assertThrows(IllegalArgumentException.class, () -> HeldOutEvaluator.forPrompts(rater, List.of(), 8, tmp));
    }
}
