package io.salsa.scorer.rm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.scorer.LmRewardScorerModel;
import io.salsa.task.TaskConfig;
import io.salsa.testkit.Captured;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code salsa rm train --lora}: a LoRA adapter on the frozen backbone + the score head, saved merged. */
class RmLoraTrainTest {

    @TempDir
    static Path dir;
    static Path task;
    static Path init;

    @BeforeAll
    static void taskAndInitModel() throws Exception {
        init = dir.resolve("init");
        task = RmTrainCommandTest.taskWithInitModel(dir.resolve("task"), new TaskConfig(11, 24, 0.15, 0.1, 600, 2, 512),
                init, 5);
    }

    private static Captured<Integer> run(String out, String lora, String... more) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("--data", task.resolve("preferences.jsonl").toString(),
                "--init", init.toString(), "--out", dir.resolve(out).toString(), "--lora", lora));
        args.addAll(List.of(more));
        return Captured.of(() -> new CommandLine(new RmTrainCommand()).execute(args.toArray(String[]::new)));
    }

    @Test
    void shouldRankHeldOutPairsAboveChanceChangingOnlyTheAdaptedWeightsAndSaveAFullRewardModel() throws Exception {
        Captured<Integer> r = run("rm", "r=8,alpha=16,targets=c_attn,c_proj,c_fc", "--seed", "3", "--epochs", "3",
                "--max-steps", "90", "--lr", "3e-3", "--batch-size", "16");
        assertEquals(0, r.value(), r.err() + r.out());
        assertTrue(r.out().contains("LoRA r=8"), r.out());
        Path out = dir.resolve("rm");
        assertFalse(Files.exists(out.resolve(LoraConfig.FILE)), "saved merged, not as an adapter");

        List<PreferencePair> pairs;
        try (SalsaTokenizer tok = SalsaTokenizer.load(out)) {
            pairs = PreferenceData.readJsonl(task.resolve("preferences.jsonl"), tok);
        }
        RewardModelTrainer.Split split = RewardModelTrainer.split(pairs, 0.2, 3);
        try (CausalLm rm = CausalLms.load(out, GptModel.Head.SCORE, Device.cpu());
             CausalLm before = CausalLms.load(init, GptModel.Head.NONE, Device.cpu())) {
            RewardModelTrainer.Evaluation e = RewardModelTrainer.evaluate(rm, split.heldOut(), 16);
            assertTrue(e.strictPairs() >= 50, "enough held-out pairs to measure: " + e);
            assertTrue(e.accuracy() > 0.65, "held-out accuracy of the saved LoRA reward model " + e.accuracy());
            int adapted = 0;
            for (String name : before.parameters().keySet()) {
                boolean target = name.endsWith(".c_attn.weight") || name.endsWith(".c_proj.weight")
                        || name.endsWith(".c_fc.weight");
                if (target) {
                    adapted++;
                    assertFalse(java.util.Arrays.equals(before.weights(name), rm.weights(name)), name + " took the merged ΔW");
                } else {
                    assertArrayEquals(before.weights(name), rm.weights(name), name + " is frozen");
                }
            }
            assertEquals(2 * 4, adapted, "c_attn, attn.c_proj, c_fc, mlp.c_proj in both layers");
        }
        try (LmRewardScorerModel scorer = LmRewardScorerModel.load(out, "lora-rm", 1, Device.cpu())) {
            assertEquals(2, scorer.score(List.of(new int[] {5, 6}, new int[] {7}), List.of(new int[] {8}, new int[] {9, 10})).length,
                    "the scorer loads the merged folder unchanged");
        }
        JsonNode card = new ObjectMapper().readTree(out.resolve("card.json").toFile());
        assertEquals(8, card.get("lora").get("r").asInt());
        assertTrue(card.get("heldOutAccuracy").asDouble() > 0.65);
    }

    @Test
    void shouldRefuseBadLoraSpecsWithExitCodeTwoBeforeWritingAnything() throws Exception {
        Captured<Integer> r = run("bad1", "r=-1,targets=c_attn");
        assertEquals(2, r.value());
        assertTrue(r.err().contains("--lora: r must be an integer > 0, got -1"), r.err());
        r = run("bad2", "r=4,targets=q_proj,v_proj", "--max-steps", "1");
        assertEquals(2, r.value());
        assertTrue(r.err().contains("unknown LoRA target module 'q_proj' for a gpt2 model") && r.err().contains("c_attn"),
                r.err());
        r = run("bad3", "r=4,targets=c_attn,scale=2");
        assertEquals(2, r.value());
        assertTrue(r.err().contains("unknown key 'scale'"), r.err());
        for (String out : List.of("bad1", "bad2", "bad3")) {
            assertFalse(Files.exists(dir.resolve(out)), out + " was not written");
        }
    }
}
