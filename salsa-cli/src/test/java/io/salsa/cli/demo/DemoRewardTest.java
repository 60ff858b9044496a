package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.Rollout;
import io.salsa.task.SimulatedRater;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import io.salsa.task.TaskPrompt;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code salsa demo --reward}: the oracle reward model and the option's record in the run's folder. */
class DemoRewardTest {

    private final TaskDataset task = TaskDataset.generate(TaskConfig.defaults(7, 6));
    private final SimulatedRater judge = new SimulatedRater(task.world());

    @Test
    void shouldRewardEachRolloutWithTheSimulatedRatersScoreOfItsText() {
        TaskPrompt p = task.prompts("train").get(0);
        String right = p.reference();
        String wrong = p.entity().answerWith(p.attribute(), task.world().values(p.attribute()).stream()
                .filter(v -> !v.equals(p.entity().value(p.attribute()))).findFirst().orElseThrow());
        String garbled = "zz qq zz qq zz";
        try (GoldRewardModel oracle = new GoldRewardModel(judge)) {
            float[] scores = oracle.score(List.of(rollout(p.text(), right), rollout(p.text(), wrong),
                    rollout(p.text(), garbled)));

            assertEquals((float) judge.score(p.text(), right), scores[0], 0f);
            assertEquals((float) judge.score(p.text(), wrong), scores[1], 0f);
            assertEquals((float) judge.score(p.text(), garbled), scores[2], 0f);
            assertTrue(scores[0] > scores[1] && scores[1] > scores[2], java.util.Arrays.toString(scores));
        }
    }

    @Test
    void shouldDeadLetterARolloutWithoutTextAndOutrankEveryAnnouncedVersion() {
        try (GoldRewardModel oracle = new GoldRewardModel(judge)) {
            assertTrue(oracle.rejectReason(rollout(null, "x")).orElseThrow().contains("promptText"));
            assertTrue(oracle.rejectReason(rollout("q", null)).isPresent());
            assertFalse(oracle.rejectReason(rollout("q", "a")).isPresent());
            assertEquals(FeedbackStages.REWARD_MODEL_NAME, oracle.name());
            assertEquals(Long.MAX_VALUE, oracle.version(), "the scorer keeps it when the trained model is announced");
        }
    }

    @Test
    void shouldRefuseToResumeARunWithAnotherReward(@TempDir Path dir) throws Exception {
        DemoCommand.claimReward(dir, DemoReward.ORACLE);
        DemoCommand.claimReward(dir, DemoReward.ORACLE);

        DemoCommand.ModelMismatchException e = assertThrows(DemoCommand.ModelMismatchException.class,
                () -> DemoCommand.claimReward(dir, DemoReward.MODEL));

        assertTrue(e.getMessage().contains("--reward oracle") && e.getMessage().contains("--reward model"),
                e.getMessage());
        assertEquals("oracle", Files.readString(dir.resolve("stages").resolve(DemoCommand.REWARD_FILE)).strip());
    }

    @Test
    void shouldTakeARunWithoutARecordForOneRewardedByTheRewardModel(@TempDir Path dir) throws Exception {
        new StageMarkers(dir.resolve("stages")).markFinished("pretrain", Map.of("dir", "x"));

        DemoCommand.claimReward(dir, DemoReward.MODEL);

        assertThrows(DemoCommand.ModelMismatchException.class, () -> DemoCommand.claimReward(dir, DemoReward.ORACLE));
    }

    @Test
    void shouldRefuseAnUnknownRewardWithExitCode2(@TempDir Path dir) {
        int code = new picocli.CommandLine(new DemoCommand()).execute("--dir", dir.toString(), "--reward", "gold");

        assertEquals(2, code);
        assertFalse(Files.exists(dir.resolve("stages")), "nothing recorded");
        assertEquals(DemoReward.ORACLE, DemoReward.parse("oracle"));
    }

    private static Rollout rollout(String prompt, String response) {
        return Rollout.newBuilder().setRolloutId("r").setPromptId("p").setPromptTokenIds(List.of(5, 6, 7))
                .setResponseTokenIds(List.of(8, 9, 0)).setBehaviourLogProbs(List.of(-1f, -1f, -1f))
                .setStoppedAtEos(true).setPolicyRunId("run").setPolicyVersion(0).setGeneratorId("g")
                .setSampleIndex(0).setSeed(0).setTemperature(1f).setTopK(0).setTopP(1f).setPromptText(prompt)
                .setResponseText(response).setGenerationMs(0).setCreatedAtMs(0).build();
    }
}
