package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.events.BatchManifest;
import io.salsa.events.TrainingMetrics;
import io.salsa.model.lm.GptModel;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.schemas.KafkaSettings;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * An RLOO run through Kafka over prompt groups of four, one of which never gets its fourth member: every step trains
 * whole groups, the incomplete one is dropped after {@code group_wait_s} and counted in its step's manifest, and a
 * replay takes the same decision from the re-read records and reproduces every checkpoint bit for bit.
 */
@ExtendWith(KafkaExtension.class)
class RlooReplayTest {

    private static final String RUN = "rloo";
    private static final int GROUP = 4;
    private static final int BATCH = 8;
    private static final int STEPS = 3;

    @Test
    void anRlooRunDropsTheIncompleteGroupAndReplaysBitForBit(TestKafka broker, @TempDir Path tmp) throws Exception {
        LearnerFixture.World world = LearnerFixture.world(broker, "rloo.", tmp, 7);
        KafkaSettings kafka = world.kafka();
        ModelFolderStore store = world.store();
        try (GptModel behaviour = GptModel.load(world.soupDir(), GptModel.Head.NONE, Device.cpu())) {
            LearnerFixture.writeRollouts(kafka, behaviour, RUN, 0, BATCH, 13, LearnerFixture.PREFER_LOW, GROUP);
            // three of a group of four: its last member never comes
            LearnerFixture.writeRollouts(kafka, behaviour, RUN, 0, GROUP - 1, 99, LearnerFixture.PREFER_LOW, GROUP);
            LearnerFixture.writeRollouts(kafka, behaviour, RUN, 0, BATCH * (STEPS - 1), 14, LearnerFixture.PREFER_LOW,
                    GROUP);
        }
        Map<String, String> settings = LearnerFixture.settings(RUN, BATCH, 4, 1);
        settings.put("algorithm", "rloo");
        settings.put("group_size", Integer.toString(GROUP));
        settings.put("group_wait_s", "0.2");
        settings.put("max_steps", Integer.toString(STEPS));
        LearnerConfig config = LearnerConfig.fromMap(settings);
        assertTrue(config.groupBatching().enabled(), "rloo trains whole prompt groups by default");
        try (PpoLearner learner = PpoLearner.start(config, kafka, store, LearnerFixture.gptFactory(), () -> false)) {
            learner.run();
            assertEquals(PpoTrainer.Stop.MAX_STEPS, learner.stopReason());
        }
        List<BatchManifest> manifests = LearnerFixture.manifests(kafka, RUN);
        assertEquals(List.of(0, 1, 0), manifests.stream().map(BatchManifest::getDroppedIncompleteGroups).toList(),
                "the incomplete group is dropped, once, in the step whose range it falls in");
        assertEquals(List.of(BATCH, BATCH + GROUP - 1, BATCH),
                manifests.stream().map(BatchManifest::getRecordCount).toList());
        List<TrainingMetrics> metrics = LearnerFixture.metrics(kafka, RUN);
        assertEquals(List.of(0.0, 1.0, 0.0),
                metrics.stream().map(m -> m.getMetrics().get("learner/dropped_groups")).toList());
        for (TrainingMetrics m : metrics) {
            assertEquals(0.0, m.getMetrics().get("loss/value_avg"), "RLOO trains no value head");
        }

        Replay.Report report = Replay.run(RUN, kafka, store, LearnerFixture.gptFactory(), Device.cpu());
        assertEquals(STEPS, report.steps());
        assertTrue(report.allIdentical(), "replayed weights differ: " + report.checkpoints());
    }
}
