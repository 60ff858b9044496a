package io.salsa.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.events.BlobRef;
import io.salsa.events.RewardModelCheckpoint;
import io.salsa.events.Rollout;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.Precision;
import io.salsa.runtime.blob.LocalBlobStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A folder with {@code ensemble.json} scores the mean of its members, wherever a reward model is loaded. */
class RewardModelEnsembleTest {

    private static final GptConfig TINY = GptConfig.of(1, 2, 16, 32, 16, 0, 1);
    private static final List<Rollout> ROLLOUTS = List.of(TestRollouts.rolloutOfLength("a", "p", 10, 2),
            TestRollouts.rolloutOfLength("b", "p", 11, 5), TestRollouts.rolloutOfLength("c", "q", 4, 1));

    @Test
    void shouldScoreTheMeanOfItsMembersFromAFolderAndFromThePublishedBlob(@TempDir Path dir) throws Exception {
        Path ensemble = dir.resolve("rm");
        saveRandom(ensemble.resolve("member-1"), 3);
        saveRandom(ensemble.resolve("member-2"), 4);
        RewardModelEnsemble.writeManifest(ensemble, List.of("member-1", "member-2"));
        float[] one;
        float[] two;
        try (RewardScorerModel m1 = RewardModelEnsemble.load(ensemble.resolve("member-1"), "rm", 1, Device.cpu(),
                Precision.FP32);
             RewardScorerModel m2 = RewardModelEnsemble.load(ensemble.resolve("member-2"), "rm", 1, Device.cpu(),
                     Precision.FP32)) {
            assertInstanceOf(LmRewardScorerModel.class, m1, "a folder without a manifest is one model");
            one = m1.score(ROLLOUTS);
            two = m2.score(ROLLOUTS);
        }
        assertTrue(one[0] != two[0], "the members differ, so the mean is not either of them");

        BlobRef blob;
        try (RewardScorerModel fromFolder = RewardModelEnsemble.load(ensemble, "rm", 7, Device.cpu(),
                Precision.FP32)) {
            RewardModelEnsemble e = assertInstanceOf(RewardModelEnsemble.class, fromFolder);
            assertEquals(2, e.members().size());
            assertEquals(7L, e.version());
            float[] mean = e.score(ROLLOUTS);
            for (int i = 0; i < ROLLOUTS.size(); i++) {
                assertEquals((one[i] + two[i]) / 2f, mean[i], 1e-6f, "rollout " + i);
            }
            io.salsa.runtime.blob.BlobRef ref = new LocalBlobStore(dir.resolve("blobs")).put(ensemble, "rm/v7.tar");
            blob = BlobRef.newBuilder().setUri(ref.uri().toString()).setSha256(ref.sha256())
                    .setSizeBytes(ref.size()).build();
            RewardModelCheckpoint cp = RewardModelCheckpoint.newBuilder(TestRollouts.checkpoint("rm", 7, "x"))
                    .setBlob(blob).build();
            try (RewardScorerModel fromBlob = new BlobRewardModelLoader(new LocalBlobStore(dir.resolve("blobs")),
                    dir.resolve("cache"), Device.cpu()).load(cp)) {
                assertInstanceOf(RewardModelEnsemble.class, fromBlob);
                float[] viaBlob = fromBlob.score(ROLLOUTS);
                for (int i = 0; i < ROLLOUTS.size(); i++) {
                    assertEquals(mean[i], viaBlob[i], 0f, "the scorer's loader serves the same ensemble");
                }
            }
        }
    }

    @Test
    void shouldRejectARolloutThatAnyMemberCannotScore(@TempDir Path dir) throws Exception {
        saveRandom(dir.resolve("m"), 3);
        RewardModelEnsemble.writeManifest(dir, List.of("m"));
        try (RewardScorerModel e = RewardModelEnsemble.load(dir, "rm", 1, Device.cpu(), Precision.FP32)) {
            Rollout outside = TestRollouts.rollout("x", "p", List.of(4, 40));
            assertTrue(e.rejectReason(outside).orElseThrow().contains("outside the vocabulary"));
            assertTrue(e.rejectReason(ROLLOUTS.get(0)).isEmpty());
        }
    }

    @Test
    void shouldNameTheManifestAndTheProblemForABadEnsemble(@TempDir Path dir) throws Exception {
        saveRandom(dir.resolve("member-1"), 3);
        assertProblem(dir, "{\"members\": []}", "non-empty list");
        assertProblem(dir, "{\"models\": [\"member-1\"]}", "non-empty list");
        assertProblem(dir, "[1, 2", "not a readable JSON object");
        assertProblem(dir, "{\"members\": [\"../member-1\"]}", "not a folder name inside the ensemble");
        assertProblem(dir, "{\"members\": [\"/tmp\"]}", "not a folder name inside the ensemble");
        assertProblem(dir, "{\"members\": [3]}", "not a folder name inside the ensemble");
        assertProblem(dir, "{\"members\": [\"member-1\", \"member-1\"]}", "listed twice");
        assertProblem(dir, "{\"members\": [\"member-1\", \"member-2\"]}", "member-2 does not exist");
        assertThrows(IllegalArgumentException.class, () -> new RewardModelEnsemble(List.of(), "rm", 1));
    }

    private static void assertProblem(Path dir, String manifest, String problem) throws IOException {
        Files.writeString(dir.resolve(RewardModelEnsemble.MANIFEST), manifest, StandardCharsets.UTF_8);
        IOException e = assertThrows(IOException.class,
                () -> RewardModelEnsemble.load(dir, "rm", 1, Device.cpu(), Precision.FP32), manifest);
        assertTrue(e.getMessage().contains(RewardModelEnsemble.MANIFEST) && e.getMessage().contains(problem),
                manifest + " -> " + e.getMessage());
    }

    private static void saveRandom(Path dir, long seed) throws IOException {
        Files.createDirectories(dir);
        try (GptModel m = GptModel.random(TINY, GptModel.Head.SCORE, seed, Device.cpu())) {
            m.save(dir);
        }
    }
}
