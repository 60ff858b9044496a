package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.scorer.rm.PreferenceData;
import io.salsa.scorer.rm.PreferencePair;
import io.salsa.scorer.rm.RewardModelTrainer;
import io.salsa.scorer.rm.RmTrainConfig;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo's reward-model stage trains for its profile's {@code rewardSteps}, however few pairs one epoch holds
 * (it used to stop after one epoch: 31 of the default profile's 120 steps).
 */
class RewardModelStageTest {

    @TempDir
    Path dir;

    @Test
    void shouldTrainTheProfilesRewardStepsNotOneEpoch() throws Exception {
        DemoProfile standard = DemoProfile.standard();
        RmTrainConfig cfg = FeedbackStages.rewardModelConfig(standard);
        // the default demo's feedback: ~480 training pairs, 30 steps per epoch at batch 16
        assertEquals(standard.rewardSteps(), RewardModelTrainer.plannedSteps(482, cfg));
        assertEquals(standard.rewardSteps(), RewardModelTrainer.plannedSteps(2_000, cfg));

        Path init = dir.resolve("init");
        List<PreferencePair> pairs = taskPairsAndInit(init);
        DemoProfile small = new DemoProfile("small", 3, 12, 2, 1, 1, 40, 9, 1, 16, 1);
        RmTrainConfig smallCfg = FeedbackStages.rewardModelConfig(small);
        int perEpoch = RewardModelTrainer.plannedSteps(RewardModelTrainer.split(pairs, smallCfg.heldOutFraction(),
                smallCfg.seed()).train().size(), smallCfg.withSteps(1, 0));
        assertTrue(perEpoch < small.rewardSteps(), "one epoch (" + perEpoch + " steps) is shorter than the profile");

        RewardModelTrainer.Result r = ModelRecipes.rewardModel(pairs, init, dir.resolve("rm"), smallCfg, Device.cpu(),
                line -> { });
        assertEquals(small.rewardSteps(), r.steps(), "optimizer steps taken");
        assertTrue(ModelRecipes.exists(dir.resolve("rm")));
    }

    /**
     * The demo's ensemble: member 1 bit for bit the model {@code rewardModel} trains alone, member 2 another data
     * order; one folder with the manifest, and the ensemble's own held-out evaluation.
     */
    @Test
    void shouldTrainAnEnsembleWhoseFirstMemberIsTheModelTrainedAlone() throws Exception {
        Path init = dir.resolve("init");
        List<PreferencePair> pairs = taskPairsAndInit(init);
        RmTrainConfig cfg = RmTrainConfig.defaults(3).withLr(1e-3, 8).withSteps(1000, 6);
        RewardModelTrainer.Split split = RewardModelTrainer.split(pairs, cfg.heldOutFraction(), cfg.seed());
        ModelRecipes.rewardModel(split, init, dir.resolve("single"), cfg, Device.cpu(), line -> { });
        List<String> lines = new ArrayList<>();
        ModelRecipes.EnsembleResult e = ModelRecipes.rewardModelEnsemble(split, List.of(init, init),
                dir.resolve("ensemble"), cfg, Device.cpu(), lines::add);

        Path ensemble = dir.resolve("ensemble");
        assertTrue(ModelRecipes.exists(ensemble));
        assertEquals(List.of(ensemble.resolve("member-1"), ensemble.resolve("member-2")),
                io.salsa.scorer.RewardModelEnsemble.members(ensemble));
        byte[] single = Files.readAllBytes(dir.resolve("single/model.safetensors"));
        assertArrayEquals(single, Files.readAllBytes(ensemble.resolve("member-1/model.safetensors")));
        assertFalse(Arrays.equals(single, Files.readAllBytes(ensemble.resolve("member-2/model.safetensors"))),
                "member 2 trains in another data order");
        assertTrue(Files.isRegularFile(ensemble.resolve("member-2/tokenizer.json")));
        assertEquals(2, e.members().size());
        assertEquals(12, e.combined().steps());
        assertEquals(e.after(), e.combined().after());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("member 2/2: ")), lines.toString());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("held-out, ensemble of 2")), lines.toString());
    }

    /** A small task's first 40 offline pairs, and a random tiny GPT-2 with the task's tokenizer at {@code init}. */
    private List<PreferencePair> taskPairsAndInit(Path init) throws Exception {
        Path task = dir.resolve("task");
        TaskDataset.generate(new TaskConfig(11, 12, 0.15, 0.1, 60, 2, 512)).writeTo(task);
        try (SalsaTokenizer tokenizer = SalsaTokenizer.load(task)) {
            GptConfig tiny = GptConfig.of(1, 2, 16, tokenizer.vocabSize(), 128, tokenizer.eosId(), tokenizer.padId());
            try (GptModel model = GptModel.random(tiny, GptModel.Head.NONE, 5, Device.cpu())) {
                model.save(init);
            }
            Files.copy(task.resolve(SalsaTokenizer.TOKENIZER_JSON), init.resolve(SalsaTokenizer.TOKENIZER_JSON));
            return PreferenceData.readJsonl(task.resolve("preferences.jsonl"), tokenizer).subList(0, 40);
        }
    }

    @Test
    void shouldAddOfflinePairsToTrainingOnlyAndNeverOnAHeldOutPrompt() {
        PreferencePair ratedA = pair("a", 1);
        PreferencePair ratedB = pair("b", 2);
        PreferencePair ratedC = pair("c", 3);
        RewardModelTrainer.Split rated = new RewardModelTrainer.Split(List.of(ratedA, ratedB), List.of(ratedC));
        PreferencePair offlineA = pair("a", 4);
        PreferencePair offlineC = pair("c", 5);
        PreferencePair offlineD = pair("d", 6);

        RewardModelTrainer.Split mixed = FeedbackStages.withOfflinePairs(rated, List.of(offlineA, offlineC, offlineD));

        assertEquals(List.of(ratedA, ratedB, offlineA, offlineD), mixed.train());
        assertEquals(List.of(ratedC), mixed.heldOut(), "held-out accuracy stays over the raters' pairs alone");
    }

    @Test
    void shouldOrderTheRatersPairsTheSameWhateverOrderTheyArrivedIn() {
        PreferencePair a1 = pair("a", 1);
        PreferencePair a2 = new PreferencePair("a", new int[] {1, 1}, new int[] {1, 3}, false);
        PreferencePair a3 = new PreferencePair("a", new int[] {1, 1}, new int[] {1, 3}, true);
        PreferencePair b = pair("b", 0);
        List<PreferencePair> expected = List.of(a1, a2, a3, b);
        List<PreferencePair> arrived = new ArrayList<>(expected);
        for (long seed = 0; seed < 5; seed++) {
            Collections.shuffle(arrived, new Random(seed));
            assertEquals(expected, FeedbackStages.canonicalOrder(arrived), "arrival order " + arrived);
        }
    }

    @Test
    void shouldOrderATieTheSameWhicheverResponseThePageShowedFirst() {
        PreferencePair strict = new PreferencePair("a", new int[] {9}, new int[] {1}, false);
        for (boolean swapped : new boolean[] {false, true}) {
            int[] first = swapped ? new int[] {5, 2} : new int[] {5, 1};
            int[] second = swapped ? new int[] {5, 1} : new int[] {5, 2};
            PreferencePair tie = new PreferencePair("a", first, second, true);
            List<String> order = FeedbackStages.canonicalOrder(List.of(tie, strict)).stream()
                    .map(p -> Arrays.toString(p.chosen()) + (p.tie() ? "=" : ">") + Arrays.toString(p.rejected()))
                    .toList();
            assertEquals(List.of("[5, 1]=[5, 2]", "[9]>[1]"), order, "tie shown " + (swapped ? "swapped" : "as is"));
        }
        assertEquals(strict, FeedbackStages.canonicalOrder(List.of(strict)).get(0), "a strict pair keeps its sides");
    }

    private static PreferencePair pair(String prompt, int token) {
        return new PreferencePair(prompt, new int[] {token, 1}, new int[] {token, 2}, false);
    }
}
