package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.events.BlobRef;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.schemas.KafkaSettings;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The checkpoint retention policy, alone and in a learner run that resumes and is replayed. */
@ExtendWith(KafkaExtension.class)
class CheckpointRetentionTest {

    private static final String SHA = "ab".repeat(32);

    @Test
    void shouldKeepEveryCheckpointByDefault() {
        List<LearnerState.CheckpointRef> cps = regular(0, 9, 1);
        assertFalse(CheckpointRetention.KEEP_ALL.enabled());
        assertEquals(versions(0, 9), CheckpointRetention.KEEP_ALL.keep(cps, 1, -1));
        assertEquals(CheckpointRetention.KEEP_ALL,
                LearnerConfig.fromMap(Map.of("run_id", "r", "soup_recipe", "s")).checkpointRetention());
    }

    @Test
    void shouldKeepEveryKthTheNewestNAndTheResumedFrom() {
        List<LearnerState.CheckpointRef> cps = regular(0, 10, 5); // v0..v10 at steps 0, 5, …, 50
        assertEquals(Set.of(0L, 3L, 6L, 9L, 10L), new CheckpointRetention(3, 0).keep(cps, 5, -1),
                "every 3rd version, and always the newest");
        assertEquals(Set.of(8L, 9L, 10L), new CheckpointRetention(0, 3).keep(cps, 5, -1));
        assertEquals(Set.of(0L, 4L, 8L, 9L, 10L), new CheckpointRetention(4, 2).keep(cps, 5, -1));
        assertEquals(Set.of(0L, 4L, 7L, 8L, 9L, 10L), new CheckpointRetention(4, 2).keep(cps, 5, 7),
                "the checkpoint this process resumed from stays");
    }

    @Test
    void shouldKeepSoupBoundaryCheckpoints() {
        List<LearnerState.CheckpointRef> cps = new ArrayList<>(regular(0, 2, 10)); // v0..v2 at steps 0, 10, 20
        cps.add(ref(3, 23)); // a soup swap after step 23: not a multiple of save_steps
        cps.add(ref(4, 30));
        cps.add(ref(5, 30)); // a soup swap right after the regular checkpoint of step 30
        cps.add(ref(6, 40));
        cps.add(ref(7, 50));
        assertEquals(Set.of(3L, 5L, 7L), new CheckpointRetention(0, 1).keep(cps, 10, -1));
        List<LearnerState.CheckpointRef> swapAtStart = List.of(ref(0, 0), ref(1, 0), ref(2, 10), ref(3, 20));
        assertEquals(Set.of(1L, 3L), new CheckpointRetention(0, 1).keep(swapAtStart, 10, -1),
                "a swap before the first step is a second checkpoint at step 0");
    }

    @Test
    void shouldRefuseNegativeSettingsNamingThem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LearnerConfig.fromMap(
                Map.of("run_id", "r", "soup_recipe", "s", "checkpoint_keep_last", "-1")));
        assertTrue(e.getMessage().contains("checkpoint_keep_last"), e.getMessage());
        LearnerConfig c = LearnerConfig.fromMap(Map.of("run_id", "r", "soup_recipe", "s",
                "checkpoint_keep_every", "5", "checkpoint_keep_last", "2"));
        assertEquals(new CheckpointRetention(5, 2), c.checkpointRetention());
        assertEquals(c, LearnerConfig.fromMap(c.toMap()), "the settings survive the round trip of a card");
        assertEquals(c, c.toBuilder().build());
    }

    /**
     * A run checkpoints every step with retention off (v0..v4), resumes with keep_every=3, keep_last=2 and trains
     * three more steps: the blobs of v1, v2 (written by the first process) and v5 go, policy and optimiser alike;
     * v4 stays because the second process resumed from it. Replay still compares all eight checkpoints, bit for
     * bit, and reports the three deleted ones as not retained.
     */
    @Test
    void shouldDeleteUnkeptCheckpointBlobsAcrossAResumeAndReplayTheRunStill(TestKafka broker, @TempDir Path tmp)
            throws Exception {
        LearnerFixture.World world = LearnerFixture.world(broker, "retain.", tmp, 1);
        KafkaSettings kafka = world.kafka();
        ModelFolderStore store = world.store();
        Map<String, String> settings = LearnerFixture.settings("retain", 8, 8, 1);
        train(kafka, store, LearnerConfig.fromMap(settings), 4);
        Path runDir = tmp.resolve("blobs/store/runs/retain");
        assertEquals(versions(0, 4), stored(runDir, "policy"));
        assertEquals(versions(0, 4), stored(runDir, "optimizer"));

        settings.put("checkpoint_keep_every", "3");
        settings.put("checkpoint_keep_last", "2");
        train(kafka, store, LearnerConfig.fromMap(settings), 7);
        Set<Long> kept = Set.of(0L, 3L, 4L, 6L, 7L);
        assertEquals(kept, stored(runDir, "policy"));
        assertEquals(kept, stored(runDir, "optimizer"), "a checkpoint's optimiser state goes with its policy");

        Replay.Report report = Replay.run("retain", kafka, store, LearnerFixture.gptFactory(), Device.cpu());
        assertEquals(7, report.steps());
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L),
                report.checkpoints().stream().map(Replay.Checkpoint::version).toList());
        assertTrue(report.allIdentical(), "replayed weights differ: " + report.checkpoints());
        assertEquals(List.of(1L, 2L, 5L), report.notRetained());
        for (Replay.Checkpoint c : report.checkpoints()) {
            assertEquals(kept.contains(c.version()), c.retained(), "v" + c.version());
        }
        assertTrue(store.blobStore().exists(URI.create(LearnerTopics.latestCheckpoint(kafka, "retain").getBlob()
                .getUri())), "the newest checkpoint, which generators follow, is there");
    }

    /** Runs the learner on fresh on-policy rollouts until step {@code until}, then closes it. */
    private static void train(KafkaSettings kafka, ModelFolderStore store, LearnerConfig config, long until)
            throws Exception {
        try (PpoLearner learner = PpoLearner.start(config, kafka, store, LearnerFixture.gptFactory(), () -> false)) {
            LmPolicyTrainer trainer = (LmPolicyTrainer) learner.policy();
            for (long step = learner.state().step() + 1; step <= until; step++) {
                LearnerFixture.writeRollouts(kafka, trainer.policy(), config.runId(),
                        learner.state().policyVersion(), 8, 500 + step, LearnerFixture.PREFER_LOW);
                assertEquals(PpoTrainer.Stop.MAX_STEPS, learner.runUntil(step, () -> false));
            }
        }
    }

    /** The versions of the {@code kind} blobs ({@code policy} or {@code optimizer}) in a run's store folder. */
    private static Set<Long> stored(Path runDir, String kind) throws Exception {
        Pattern name = Pattern.compile(kind + "-v(\\d+)-[0-9a-f]{16}\\.tar");
        Set<Long> out = new TreeSet<>();
        try (Stream<Path> files = Files.list(runDir)) {
            for (Path f : files.toList()) {
                Matcher m = name.matcher(f.getFileName().toString());
                if (m.matches()) {
                    out.add(Long.parseLong(m.group(1)));
                }
            }
        }
        return out;
    }

    private static List<LearnerState.CheckpointRef> regular(long fromVersion, long toVersion, int saveSteps) {
        List<LearnerState.CheckpointRef> out = new ArrayList<>();
        for (long v = fromVersion; v <= toVersion; v++) {
            out.add(ref(v, v * saveSteps));
        }
        return out;
    }

    private static LearnerState.CheckpointRef ref(long version, long step) {
        return new LearnerState.CheckpointRef(version, step, new BlobRef("file:///ckpt/v" + version, SHA, 1L), SHA);
    }

    private static Set<Long> versions(long from, long to) {
        Set<Long> out = new TreeSet<>();
        for (long v = from; v <= to; v++) {
            out.add(v);
        }
        return out;
    }
}
