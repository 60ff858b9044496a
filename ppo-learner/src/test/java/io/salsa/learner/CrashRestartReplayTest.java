package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.events.BatchManifest;
import io.salsa.events.OffsetRange;
import io.salsa.model.lm.GptModel;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.schemas.KafkaSettings;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The learner in a child JVM is killed with SIGKILL mid-run and restarted: no record may be trained twice, the
 * manifests must stay continuous, and a replay must reproduce every checkpoint bit for bit.
 */
@ExtendWith(KafkaExtension.class)
class CrashRestartReplayTest {

    private static final String RUN = "crash";
    private static final int BATCH = 8;
    private static final int STEPS = 10;

    @Test
    void shouldResumeAfterKill9WithoutTrainingARecordTwiceAndReplayBitForBit(TestKafka broker, @TempDir Path tmp)
            throws Exception {
        String prefix = "crash.";
        LearnerFixture.World world = LearnerFixture.world(broker, prefix, tmp, 5);
        KafkaSettings kafka = world.kafka();
        ModelFolderStore store = world.store();
        Path blobs = tmp.resolve("blobs");
        try (GptModel behaviour = GptModel.load(world.soupDir(), GptModel.Head.NONE, Device.cpu())) {
            LearnerFixture.writeRollouts(kafka, behaviour, RUN, 0, BATCH * (STEPS + 2), 77, LearnerFixture.PREFER_LOW);
        }

        Process child = new ProcessBuilder(javaBin(), "-cp", System.getProperty("java.class.path"),
                "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                LearnerChild.class.getName(), broker.bootstrapServers(), prefix, blobs.toString(), RUN,
                Integer.toString(BATCH), "4", "3", Integer.toString(STEPS))
                .redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
        long deadline = System.currentTimeMillis() + 180_000;
        while (LearnerFixture.manifests(kafka, RUN).size() < 4) {
            assertTrue(child.isAlive(), "child learner died on its own; see " + tmp.resolve("child.log"));
            assertTrue(System.currentTimeMillis() < deadline, "child learner made no progress");
            Thread.sleep(200);
        }
        child.destroyForcibly(); // SIGKILL: no shutdown hook, no clean close
        assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        int beforeRestart = LearnerFixture.manifests(kafka, RUN).size();
        assertTrue(beforeRestart < STEPS, "the child must die mid-run");

        Map<String, String> settings = LearnerFixture.settings(RUN, BATCH, 4, 3);
        settings.put("max_steps", Integer.toString(STEPS));
        try (PpoLearner learner = PpoLearner.start(LearnerConfig.fromMap(settings), kafka, store,
                LearnerFixture.gptFactory(), () -> false)) {
            learner.run();
            assertEquals(PpoTrainer.Stop.MAX_STEPS, learner.stopReason());
        }

        List<BatchManifest> manifests = LearnerFixture.manifests(kafka, RUN);
        List<Long> steps = manifests.stream().map(BatchManifest::getStep).toList();
        List<Long> expected = new ArrayList<>();
        for (long s = 1; s <= STEPS; s++) {
            expected.add(s);
        }
        assertEquals(expected, steps, "one manifest per step, continuous, none written twice");
        // consecutive steps' ranges tile each partition from offset 0: no record in two steps, none skipped
        Map<Integer, Long> next = new HashMap<>();
        int records = 0;
        for (BatchManifest m : manifests) {
            for (OffsetRange r : m.getRanges()) {
                assertEquals(next.getOrDefault(r.getPartition(), 0L), r.getFromOffset(),
                        "step " + m.getStep() + " partition " + r.getPartition());
                next.put(r.getPartition(), r.getUntilOffset());
            }
            records += m.getRecordCount();
            assertEquals(BATCH, m.getRecordCount() - m.getDroppedStale());
        }
        assertEquals(BATCH * STEPS, records);

        Replay.Report report = Replay.run(RUN, kafka, store, LearnerFixture.gptFactory(), Device.cpu());
        assertEquals(STEPS, report.steps());
        // v0 plus the checkpoints after steps 3, 6 and 9
        assertEquals(List.of(0L, 3L, 6L, 9L), report.checkpoints().stream()
                .map(Replay.Checkpoint::step).toList());
        assertTrue(report.allIdentical(), "replayed weights differ: " + report.checkpoints());
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
