package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
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

/** A GRPO run through Kafka over rollouts in prompt groups of four: every checkpoint replays bit for bit. */
@ExtendWith(KafkaExtension.class)
class GrpoReplayTest {

    private static final String RUN = "grpo";
    private static final int BATCH = 8;
    private static final int STEPS = 3;

    @Test
    void aGrpoRunReplaysBitForBit(TestKafka broker, @TempDir Path tmp) throws Exception {
        LearnerFixture.World world = LearnerFixture.world(broker, "grpo.", tmp, 7);
        KafkaSettings kafka = world.kafka();
        ModelFolderStore store = world.store();
        try (GptModel behaviour = GptModel.load(world.soupDir(), GptModel.Head.NONE, Device.cpu())) {
            LearnerFixture.writeRollouts(kafka, behaviour, RUN, 0, BATCH * STEPS, 13, LearnerFixture.PREFER_LOW, 4);
        }
        Map<String, String> settings = LearnerFixture.settings(RUN, BATCH, 4, 1);
        settings.put("algorithm", "grpo");
        settings.put("max_steps", Integer.toString(STEPS));
        try (PpoLearner learner = PpoLearner.start(LearnerConfig.fromMap(settings), kafka, store,
                LearnerFixture.gptFactory(), () -> false)) {
            learner.run();
            assertEquals(PpoTrainer.Stop.MAX_STEPS, learner.stopReason());
        }
        List<TrainingMetrics> metrics = LearnerFixture.metrics(kafka, RUN);
        assertEquals(STEPS, metrics.size());
        for (TrainingMetrics m : metrics) {
            assertEquals(0.0, m.getMetrics().get("loss/value_avg"), "GRPO trains no value head");
            assertTrue(Double.isFinite(m.getMetrics().get("loss/kl_avg")), "GRPO's KL loss term is reported");
        }

        Replay.Report report = Replay.run(RUN, kafka, store, LearnerFixture.gptFactory(), Device.cpu());
        assertEquals(STEPS, report.steps());
        assertTrue(report.allIdentical(), "replayed weights differ: " + report.checkpoints());
    }
}
