package io.salsa.scorer.rm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import io.salsa.model.tokenizer.SalsaTokenizer;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RewardModelTrainerTest {

    @TempDir
    static Path dir;
    static List<PreferencePair> pairs;
    static GptConfig tiny;

    @BeforeAll
    static void builtInTask() throws Exception {
        TaskDataset task = TaskDataset.generate(new TaskConfig(11, 24, 0.15, 0.1, 600, 2, 512));
        task.writeTo(dir);
        try (SalsaTokenizer tokenizer = SalsaTokenizer.load(dir)) {
            pairs = PreferenceData.readJsonl(dir.resolve("preferences.jsonl"), tokenizer);
            tiny = GptConfig.of(2, 2, 32, tokenizer.vocabSize(), 128, tokenizer.eosId(), tokenizer.padId());
        }
    }

    @Test
    void shouldRankHeldOutSimulatedRaterPairsClearlyAboveChance() {
        RmTrainConfig cfg = RmTrainConfig.defaults(3).withLr(3e-3, 16).withSteps(3, 90);
        RewardModelTrainer.Split split = RewardModelTrainer.split(pairs, 0.2, cfg.seed());
        try (GptModel model = GptModel.random(tiny, GptModel.Head.SCORE, 5, Device.cpu())) {
            RewardModelTrainer.Result r = RewardModelTrainer.train(model, split, cfg, System.out::println);
            System.out.println("tiny RM: " + r);
            assertTrue(r.after().strictPairs() >= 50, "enough held-out pairs to measure: " + r.after());
            assertTrue(r.after().accuracy() > 0.65, "held-out accuracy " + r.after().accuracy());
            assertTrue(r.after().loss() < r.before().loss(), "held-out loss went down");
        }
    }

    @Test
    void shouldHoldOutWholePromptsDeterministically() {
        RewardModelTrainer.Split a = RewardModelTrainer.split(pairs, 0.2, 9);
        RewardModelTrainer.Split b = RewardModelTrainer.split(pairs, 0.2, 9);
        assertEquals(a, b);
        assertEquals(pairs.size(), a.train().size() + a.heldOut().size());
        Set<String> trainPrompts = new HashSet<>();
        a.train().forEach(p -> trainPrompts.add(p.group()));
        assertTrue(a.heldOut().stream().noneMatch(p -> trainPrompts.contains(p.group())),
                "no held-out prompt is in the training set");
    }

    @Test
    void shouldGiveIdenticalWeightsForTheSameSeed() {
        RmTrainConfig cfg = RmTrainConfig.defaults(4).withLr(1e-3, 8).withSteps(1, 4);
        RewardModelTrainer.Split split = RewardModelTrainer.split(pairs, 0.2, cfg.seed());
        float[][] weights = new float[2][];
        for (int run = 0; run < 2; run++) {
            try (GptModel model = GptModel.random(tiny, GptModel.Head.SCORE, 5, Device.cpu())) {
                RewardModelTrainer.train(model, split, cfg, line -> { });
                weights[run] = model.weights(GptModel.SCORE_WEIGHT);
                float[] c = model.weights("transformer.h.0.attn.c_attn.weight");
                weights[run] = concat(weights[run], c);
            }
        }
        assertArrayEquals(weights[0], weights[1]);
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
