package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.BatchManifest;
import io.salsa.events.Prompt;
import io.salsa.schemas.Topics;
import io.salsa.testkit.Conditions;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The generator pauses at the staleness bound instead of flooding, and resumes where it stopped. */
@ExtendWith(KafkaExtension.class)
class StalenessIT {

    @TempDir
    Path dir;

    @Test
    void shouldPauseAtTheRolloutCapAndResumeWithoutLosingItsPlace(TestKafka kafka) throws Exception {
        try (GenHarness h = new GenHarness(kafka, "cap", dir)) {
            // in offsets (a batch of 2 here is 2 rollouts and a commit marker): about 8 rollouts
            run(h, 12, h.config("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "2", "SALSA_GENERATOR_BATCH_SIZE", "2",
                    "SALSA_GENERATOR_MAX_UNCONSUMED_ROLLOUTS", "12",
                    "SALSA_GENERATOR_LAG_SOURCES", "rollouts@learner"));
        }
    }

    @Test
    void shouldPauseAtTheVersionBoundLearnedFromTheLearnersBatchManifests(TestKafka kafka) throws Exception {
        try (GenHarness h = new GenHarness(kafka, "versions", dir)) {
            // the learner trains on 6 rollouts per step: with max_staleness 1 up to 11 offsets may wait; the 12th makes
            // the next 2 versions stale
            h.publish(Topics.LEARNER_BATCHES, "run-s", BatchManifest.newBuilder().setRunId("run-s").setStep(1).setSeed(1)
                    .setRanges(List.of()).setRecordCount(6).setSoupRecipe("default").setSoupVersion(1)
                    .setPolicyVersionBefore(0).setPolicyVersionAfter(1).setCreatedAtMs(0).build());
            run(h, 12, h.config("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "2", "SALSA_GENERATOR_BATCH_SIZE", "2",
                    "SALSA_GENERATOR_MAX_STALENESS", "1", "SALSA_GENERATOR_LEARNER_BATCH_ROLLOUTS", "1000",
                    "SALSA_GENERATOR_LAG_SOURCES", "rollouts@learner"));
        }
    }

    /** Plays the learner: each time the generator pauses, consumes everything produced so far. */
    private void run(GenHarness h, long bound, GeneratorConfig config) throws Exception {
        ToySampler.writeFolder(dir.resolve("initial-weights"), 1);
        List<Prompt> prompts = GenHarness.prompts(20, "s");
        h.publishPrompts(prompts);
        String learner = "learner"; // the service's group name; KafkaSettings prefixes it
        long consumed = 0; // in offsets, as the gate counts lag: commit markers of the transactions included
        int learnerSteps = 0;
        // one batch in offsets: its rollouts plus at most one commit marker per rollout (one per partition written)
        long batchOffsets = 2L * config.batchSize();
        try (GenHarness.Running g = h.start(config, ToySampler.factory(0), GeneratorAppIT.NO_BLOBS)) {
            while (true) {
                // paused, and every rollout it sent before pausing committed: those were produced before the
                // pause, and would otherwise land on the topic after `produced` is read
                GenHarness.await("the generator to pause or finish", Duration.ofSeconds(60),
                        () -> (g.app.paused() && g.app.stats().rolloutsAcked() == g.app.stats().rolloutsSent())
                                || h.count(Topics.ROLLOUTS) == 40);
                long produced = h.count(Topics.ROLLOUTS);
                long sent = g.app.stats().rolloutsSent();
                if (produced < 40) {
                    long waiting = h.endOffsetSum(Topics.ROLLOUTS) - consumed;
                    // rollouts acknowledged while a lag measurement runs are counted twice (conservative, see
                    // the README), so the gate may close up to one batch early; never late by more than one batch
                    assertTrue(waiting >= bound - batchOffsets && waiting < bound + batchOffsets,
                            "paused with " + waiting + " unconsumed offsets; bound " + bound + " ± one batch ("
                                    + batchOffsets + " offsets)");
                    // checked throughout a window longer than the learner watch's 1 s measuring period, so the
                    // gate is re-evaluated on a fresh lag measurement at least once while the learner stands still
                    Conditions.holds("still paused, and no rollout produced, while the learner has not moved",
                            Duration.ofMillis(1500), () -> g.app.paused() && g.app.stats().rolloutsSent() == sent
                                    && h.count(Topics.ROLLOUTS) == produced);
                }
                consumed = h.commitToEnd(learner);
                learnerSteps++;
                if (produced == 40) {
                    break;
                }
                final long now = consumed;
                GenHarness.await("the generator to resume", Duration.ofSeconds(60),
                        () -> h.count(Topics.ROLLOUTS) == 40 || h.endOffsetSum(Topics.ROLLOUTS) > now);
            }
            assertTrue(g.app.stats().pauses() >= 4, "paused " + g.app.stats().pauses() + " times");
        }
        assertEquals(GeneratorAppIT.expectedKeys(prompts, 2), GeneratorAppIT.keys(h.rollouts()));
        assertEquals(40, h.rollouts().size(), "pausing regenerates nothing");
        assertTrue(learnerSteps >= 4);
    }
}
