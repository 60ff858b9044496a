package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.salsa.schemas.Topics;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** kill -9 of a generator JVM in the middle of a batch, then a restart: every prompt gets its rollouts. */
@ExtendWith(KafkaExtension.class)
class CrashRecoveryIT {

    @TempDir
    Path dir;

    @Test
    void shouldLoseNoPromptWhenKilledMidBatchAndRestarted(TestKafka kafka) throws Exception {
        try (GenHarness h = new GenHarness(kafka, "crash", dir)) {
            ToySampler.writeFolder(dir.resolve("initial-weights"), 4);
            List<Prompt> prompts = GenHarness.prompts(40, "c");
            h.publishPrompts(prompts);
            String group = "generators"; // the service's group name; KafkaSettings prefixes it
            Path hold = dir.resolve("hold-next-batch");
            Path held = dir.resolve("held-batch-seeds");
            ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), "-Xmx256m",
                    GeneratorChildMain.class.getName(), kafka.bootstrapServers(), h.settings.topicPrefix(), "150",
                    hold.toString(), held.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("child.log").toFile());
            Map<String, String> env = pb.environment();
            env.put("SALSA_GENERATOR_STATE_DIR", dir.toString());
            env.put("SALSA_GENERATOR_GROUP", group);
            env.put("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "2");
            env.put("SALSA_GENERATOR_BATCH_SIZE", "4");
            env.put("SALSA_GENERATOR_MAX_NEW_TOKENS", "8");
            env.put("SALSA_GENERATOR_MAX_STALENESS", "-1");
            env.put("SALSA_GENERATOR_INITIAL_WEIGHTS", dir.resolve("initial-weights").toString());
            // the killed child stays in the group until its session times out, and the restart's rebalance waits for
            // that: 10 s (as the soak's services) instead of Kafka's default 45 s
            env.put("SALSA_KAFKA_SESSION_TIMEOUT_MS", "10000");
            env.put("SALSA_KAFKA_HEARTBEAT_INTERVAL_MS", "3000");
            Process child = pb.start();
            try {
                GenHarness.await("the child to publish some rollouts", Duration.ofSeconds(120),
                        () -> h.count(Topics.ROLLOUTS) >= 12 || !child.isAlive());
                assertTrue(child.isAlive(), "the child died on its own; see " + dir.resolve("child.log"));
                // the child's next model call holds: the kill below lands inside a batch, not between two
                Files.createFile(hold);
                GenHarness.await("the child to be inside a model call", Duration.ofSeconds(60),
                        () -> Files.exists(held) || !child.isAlive());
                assertTrue(child.isAlive(), "the child died on its own; see " + dir.resolve("child.log"));
                child.destroyForcibly(); // SIGKILL: no shutdown hook, no final commit, a batch half done
                assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            } finally {
                child.destroyForcibly();
            }
            long beforeRestart = h.count(Topics.ROLLOUTS);
            assertTrue(beforeRestart < 80, "killed before the end (" + beforeRestart + " rollouts)");
            // the kill landed mid-batch: none of the rollouts of the batch inside the model call was
            // published, so its prompts were in flight: fetched, not committed, and regenerated after the restart
            Set<Long> heldSeeds = Files.readAllLines(held).stream().map(Long::parseLong).collect(Collectors.toSet());
            assertFalse(heldSeeds.isEmpty(), "the held model call had requests");
            assertTrue(h.rollouts().stream().noneMatch(r -> heldSeeds.contains(r.getSeed())),
                    "no rollout of the batch that was inside the model call reached the topic before the restart");
            long committedAtKill = h.committed(group).values().stream().mapToLong(OffsetAndMetadata::offset).sum();
            assertTrue(committedAtKill < prompts.size(), "uncommitted prompts at the kill: " + committedAtKill
                    + " of " + prompts.size() + " committed");

            // restart: same group and state folder, so the same generator id picks up from the committed offsets
            GeneratorConfig config = h.config("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "2", "SALSA_GENERATOR_BATCH_SIZE", "4");
            try (GenHarness.Running g = h.start(config, ToySampler.factory(0), GeneratorAppIT.NO_BLOBS)) {
                GenHarness.await("every prompt's rollouts", Duration.ofSeconds(120), () -> GeneratorAppIT.keys(
                        h.rollouts()).equals(GeneratorAppIT.expectedKeys(prompts, 2)));
                GenHarness.await("every prompt committed", Duration.ofSeconds(60), () -> h.committed(group).values()
                        .stream().mapToLong(OffsetAndMetadata::offset).sum() == prompts.size());
            }
            List<Rollout> rollouts = h.rollouts();
            assertEquals(GeneratorAppIT.expectedKeys(prompts, 2), GeneratorAppIT.keys(rollouts));
            assertEquals(heldSeeds, rollouts.stream().map(Rollout::getSeed).filter(heldSeeds::contains)
                    .collect(Collectors.toSet()), "the restart generated the batch the kill interrupted");
            // regenerated = in flight at the kill: bounded by what one poll and one batch hold
            long duplicates = rollouts.size() - 80;
            Map<String, Long> perKey = rollouts.stream().collect(Collectors.groupingBy(
                    r -> r.getPromptId() + "#" + r.getSampleIndex(), Collectors.counting()));
            assertTrue(perKey.values().stream().allMatch(c -> c <= 2), "a rollout regenerated more than once");
            System.out.printf("killed after %d rollouts; %d regenerated after the restart%n", beforeRestart, duplicates);
            // a regenerated rollout is identical to the lost attempt's: same seed, same weights
            Map<String, List<Rollout>> byKey = rollouts.stream().collect(Collectors.groupingBy(
                    r -> r.getPromptId() + "#" + r.getSampleIndex()));
            byKey.values().stream().filter(l -> l.size() == 2).forEach(l -> assertEquals(
                    l.get(0).getResponseTokenIds(), l.get(1).getResponseTokenIds()));
            assertTrue(new File(dir.resolve("generator-id").toString()).exists());
            assertEquals(1, rollouts.stream().map(Rollout::getGeneratorId).distinct().count(),
                    "the restarted instance keeps its generator id");
        }
    }
}
