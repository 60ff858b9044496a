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

    private static final TaskDataset DATA = TaskDataset.generate(TaskConfig.defaults(42, TaskConfig.DEFAULT_ENTITIES));

    /** A random one-layer policy over the task's tokenizer, which it writes to {@code folder}. */
    private static GptModel policyWithTokenizerIn(Path folder) throws Exception {
        Files.writeString(folder.resolve(ModelFolder.TOKENIZER), DATA.tokenizerJson());
        int vocab;
        try (SalsaTokenizer tok = SalsaTokenizer.load(folder)) {
            vocab = tok.vocabSize();
        }
        return GptModel.random(GptConfig.of(1, 2, 16, vocab, 64, 0, 1), GptModel.Head.VALUE, 3, Device.cpu());
    }

    @Test
    void scoresGreedyAnswersOfTheTaskEvalSplitDeterministically(@TempDir Path tmp) throws Exception {
        try (GptModel policy = policyWithTokenizerIn(tmp);
                HeldOutEvaluator eval = HeldOutEvaluator.forTask(42, TaskConfig.DEFAULT_ENTITIES, 4, 8, tmp)) {
            double first = eval.evaluate(policy);
            assertTrue(Double.isFinite(first));
            assertEquals(first, eval.evaluate(policy), 0.0, "greedy decoding makes the score a function of the weights");
        }
    }

    @Test
    void scoresAnyPromptsInTheirOrder(@TempDir Path tmp) throws Exception {
        SimulatedRater rater = new SimulatedRater(DATA.world());
        List<String> prompts = List.of(DATA.prompts("ood").get(0).text(), DATA.prompts("eval").get(0).text(),
                DATA.prompts("ood").get(0).text());
        try (GptModel policy = policyWithTokenizerIn(tmp);
                HeldOutEvaluator eval = HeldOutEvaluator.forPrompts(rater, prompts, 8, tmp)) {
            double[] scores = eval.scores(policy);
            assertEquals(3, scores.length);
            assertEquals(scores[0], scores[2], 0.0, "the same prompt, the same greedy answer");
            assertEquals((scores[0] + scores[1] + scores[2]) / 3, eval.evaluate(policy), 1e-12);
        }
        assertThrows(IllegalArgumentException.class, () -> HeldOutEvaluator.forPrompts(rater, List.of(), 8, tmp));
    }
}
