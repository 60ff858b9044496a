package io.salsa.scorer.rm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.llama.LlamaModel;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.model.train.PretrainCommand;
import io.salsa.scorer.LmRewardScorerModel;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import io.salsa.testkit.Captured;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Reward models on a Llama-style backbone: trained, saved as LlamaForSequenceClassification, scored after reload. */
class LlamaRewardModelTest {

    /** 2 layers, 32 wide, 4 query heads over 2 key/value heads. */
    private static final PretrainCommand.Shape TINY = new PretrainCommand.Shape("llama", 2, 4, 2, 32, 64, 128);

    @TempDir
    static Path dir;
    static List<PreferencePair> pairs;
    static SalsaTokenizer tokenizer;

    @BeforeAll
    static void builtInTask() throws Exception {
        TaskDataset.generate(new TaskConfig(11, 24, 0.15, 0.1, 600, 2, 512)).writeTo(dir);
        tokenizer = SalsaTokenizer.load(dir);
        pairs = PreferenceData.readJsonl(dir.resolve("preferences.jsonl"), tokenizer);
    }

    private static LlamaConfig config(int padId) {
        return TINY.llamaConfig(tokenizer.vocabSize(), tokenizer.eosId(), tokenizer.eosId(), padId);
    }

    @Test
    void shouldLearnHeldOutPairsAndScoreTheSameAfterReloadAsCausalLmScores() throws Exception {
        RmTrainConfig cfg = RmTrainConfig.defaults(3).withLr(3e-3, 16).withSteps(3, 90);
        RewardModelTrainer.Split split = RewardModelTrainer.split(pairs, 0.2, cfg.seed());
        Path out = dir.resolve("llama-rm");
        List<int[]> sequences = new ArrayList<>();
        split.heldOut().stream().limit(12).forEach(p -> sequences.add(p.chosen()));
        float[] direct = new float[sequences.size()];
        try (LlamaModel model = LlamaModel.random(config(tokenizer.padId()), GptModel.Head.SCORE, 5, Device.cpu())) {
            RewardModelTrainer.Result r = RewardModelTrainer.train(model, split, cfg, line -> { });
            assertTrue(r.after().strictPairs() >= 50, "enough held-out pairs to measure: " + r.after());
            assertTrue(r.after().accuracy() > 0.65, "held-out accuracy " + r.before().accuracy() + " → "
                    + r.after().accuracy());
            assertTrue(r.after().loss() < r.before().loss(), "held-out loss went down");
            model.save(out);
            for (int i = 0; i < direct.length; i++) {
                direct[i] = scoreAlone(model, sequences.get(i));
            }
        }
        JsonNode config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertEquals("LlamaForSequenceClassification", config.get("architectures").get(0).asText());
        try (SafeTensors st = SafeTensors.open(out.resolve("model.safetensors"))) {
            assertArrayEquals(new long[] {1, 32}, st.info("score.weight").shape());
            assertFalse(st.contains("lm_head.weight"), "a sequence classifier has no LM head");
        }
        try (LmRewardScorerModel rm = LmRewardScorerModel.load(out, "llama-rm", 1, Device.cpu())) {
            List<int[]> empty = sequences.stream().map(s -> new int[0]).toList();
            assertArrayEquals(direct, rm.score(sequences, empty), 1e-5f,
                    "the reloaded scorer's padded batch gives CausalLm.scores of each sequence alone");
        }
    }

    @Test
    void shouldScorePaddedBatchesRightEvenWithoutAPadTokenId() {
        List<int[]> sequences = List.of(pairs.get(0).chosen(), pairs.get(1).rejected(), new int[] {5, 6, 7});
        try (LmRewardScorerModel rm = new LmRewardScorerModel(
                LlamaModel.random(config(-1), GptModel.Head.SCORE, 8, Device.cpu()), "rm", 1)) {
            float[] alone = new float[sequences.size()];
            for (int i = 0; i < alone.length; i++) {
                alone[i] = scoreAlone(rm.lm(), sequences.get(i));
            }
            assertFalse(alone[0] == alone[2], "different sequences, different scores");
            assertArrayEquals(alone, rm.score(sequences, sequences.stream().map(s -> new int[0]).toList()), 1e-5f);
        }
    }

    @Test
    void rmTrainCommandShouldTakeALlamaFolderAsInit() throws Exception {
        Path init = dir.resolve("llama-init");
        tokenizer.saveTo(init);
        try (LlamaModel m = LlamaModel.random(config(tokenizer.padId()), GptModel.Head.NONE, 3, Device.cpu())) {
            m.save(init);
        }
        Path out = dir.resolve("llama-rm-cli");
        Captured<Integer> r = Captured.of(() -> new CommandLine(new RmTrainCommand()).execute(
                "--data", dir.resolve("preferences.jsonl").toString(), "--init", init.toString(), "--out", out.toString(),
                "--seed", "1", "--max-steps", "3", "--batch-size", "8"));
        assertEquals(0, r.value(), r.err() + r.out());
        assertTrue(Files.isRegularFile(out.resolve("card.json")));
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));
        try (LmRewardScorerModel rm = LmRewardScorerModel.load(out, "rm", 1, Device.cpu())) {
            assertEquals("llama", rm.lm().modelType());
            assertEquals(GptModel.Head.SCORE, rm.lm().head());
        }
    }

    /** {@link CausalLm#scores} of one unpadded sequence. */
    private static float scoreAlone(CausalLm model, int[] sequence) {
        try (NDManager scope = model.newScope()) {
            long[] ids = new long[sequence.length];
            for (int t = 0; t < ids.length; t++) {
                ids[t] = sequence[t];
            }
            return model.scores(scope.create(new long[][] {ids}), null).getFloat(0);
        }
    }
}
