package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.salsa.runtime.service.Health;
import io.salsa.schemas.Topics;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three generators in one consumer group, with one joining late and one leaving, each time while prompts are
 * still waiting and work is queued: every prompt gets exactly its n rollouts, none twice.
 *
 * <p>The test plays the learner (as {@code StalenessIT} does): a rollout cap holds the group to a few batches
 * ahead of it, so the run is certainly unfinished when the group changes, whatever the machine's speed.
 */
@ExtendWith(KafkaExtension.class)
class GeneratorGroupIT {

    private static final int PROMPTS = 120;
    private static final int N = 2;
    private static final int TOTAL = PROMPTS * N;

    @TempDir
    Path dir;

    @Test
    void shouldGiveEveryPromptExactlyItsRolloutsAcrossAJoinAndALeave(TestKafka kafka) throws Exception {
        try (GenHarness h = new GenHarness(kafka, "group", dir)) {
            ToySampler.writeFolder(dir.resolve("initial-weights"), 3);
            List<Prompt> prompts = GenHarness.prompts(PROMPTS, "g");
            h.publishPrompts(prompts);
            String learner = "learner"; // the service's group name; KafkaSettings prefixes it
            String group = "generators"; // the service's group name; KafkaSettings prefixes it
            Map<String, GenHarness.Running> live = new LinkedHashMap<>();
            long producedAtJoin = -1;
            long producedAtLeave = -1;
            long ackedByLeaver = -1;
            try {
                live.put("gen-a", start(h, "gen-a", learner));
                live.put("gen-b", start(h, "gen-b", learner));
                int learnerSteps = 0;
                while (h.count(Topics.ROLLOUTS) < TOTAL) {
                    GenHarness.await("every generator to pause at the cap, or all rollouts", Duration.ofSeconds(60),
                            () -> live.values().stream().allMatch(g -> g.app.paused())
                                    || h.count(Topics.ROLLOUTS) >= TOTAL);
                    if (learnerSteps == 1) {
                        // one joins late: the group rebalances while A and B hold queued work
                        producedAtJoin = h.count(Topics.ROLLOUTS);
                        GenHarness.Running c = start(h, "gen-c", learner);
                        live.put("gen-c", c);
                        GenHarness.await("gen-c to get its share of the prompts", Duration.ofSeconds(60),
                                () -> c.app.health().status() == Health.Status.UP);
                        GenHarness.await("every generator paused at the cap", Duration.ofSeconds(60),
                                () -> live.values().stream().allMatch(g -> g.app.paused()));
                    } else if (learnerSteps == 3) {
                        // one leaves: its partitions go to the other two from its committed offsets
                        producedAtLeave = h.count(Topics.ROLLOUTS);
                        GenHarness.Running a = live.remove("gen-a");
                        a.close();
                        ackedByLeaver = a.app.stats().rolloutsAcked();
                    }
                    // in offsets, as the generators' lag: the transactions' commit markers take offsets too
                    long consumed = h.commitToEnd(learner);
                    learnerSteps++;
                    GenHarness.await("the generators to resume", Duration.ofSeconds(60),
                            () -> h.count(Topics.ROLLOUTS) >= TOTAL || h.endOffsetSum(Topics.ROLLOUTS) > consumed);
                }
            } finally {
                for (GenHarness.Running g : live.values()) {
                    g.close();
                }
            }
            assertTrue(producedAtJoin >= 0 && producedAtJoin < TOTAL, "gen-c joined mid-run, at " + producedAtJoin);
            assertTrue(producedAtLeave >= 0 && producedAtLeave < TOTAL, "gen-a left mid-run, at " + producedAtLeave);

            List<Rollout> rollouts = h.rollouts();
            Map<String, Long> perPrompt = rollouts.stream().collect(Collectors.groupingBy(Rollout::getPromptId,
                    Collectors.counting()));
            assertEquals(prompts.stream().map(Prompt::getPromptId).collect(Collectors.toCollection(TreeSet::new)),
                    new TreeSet<>(perPrompt.keySet()), "every prompt has rollouts");
            perPrompt.forEach((prompt, count) -> assertEquals(N, count, "rollouts of prompt " + prompt));
            assertEquals(GeneratorAppIT.expectedKeys(prompts, N), GeneratorAppIT.keys(rollouts));
            Set<String> rolloutIds = rollouts.stream().map(Rollout::getRolloutId).collect(Collectors.toSet());
            assertEquals(TOTAL, rolloutIds.size(), "distinct rollout ids");
            assertEquals(TOTAL, rollouts.size(), "no rollout twice");

            Map<String, Long> perGenerator = rollouts.stream().collect(Collectors.groupingBy(Rollout::getGeneratorId,
                    Collectors.counting()));
            assertEquals(Set.of("gen-a", "gen-b", "gen-c"), perGenerator.keySet(),
                    "all three generated: " + perGenerator);
            assertEquals(ackedByLeaver, perGenerator.get("gen-a"), "gen-a produced nothing after it left");
            assertEquals(PROMPTS, h.committed(group).values().stream().mapToLong(OffsetAndMetadata::offset).sum(),
                    "every prompt committed by the group");
        }
    }

    /** A generator with its own id and state folder; the group's output is capped at 16 unconsumed rollouts. */
    private GenHarness.Running start(GenHarness h, String id, String learner) {
        GeneratorConfig config = h.config("SALSA_GENERATOR_ID", id,
                "SALSA_GENERATOR_STATE_DIR", dir.resolve(id).toString(),
                "SALSA_GENERATOR_INITIAL_WEIGHTS", dir.resolve("initial-weights").toString(),
                "SALSA_GENERATOR_SAMPLES_PER_PROMPT", Integer.toString(N),
                // a multiple of n: a batch holds whole prompts, so a revoked partition never leaves half a prompt sent
                "SALSA_GENERATOR_BATCH_SIZE", "4",
                "SALSA_GENERATOR_MAX_UNCONSUMED_ROLLOUTS", "16",
                "SALSA_GENERATOR_LAG_SOURCES", "rollouts@" + learner);
        return h.start(config, ToySampler.factory(0), GeneratorAppIT.NO_BLOBS);
    }
}
