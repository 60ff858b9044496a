package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
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

/**
 * kill -9 of a generator JVM in the middle of a batch, then a restart under the same generator id: every prompt gets
 * its rollouts exactly once (for read_committed readers), whether the kill lands inside the model call or while the
 * batch's rollouts are being sent in their transaction.
 */
@ExtendWith(KafkaExtension.class)
class CrashRecoveryIT {

    private static final String GROUP = "generators"; // the service's group name; KafkaSettings prefixes it

    @TempDir
    Path dir;

    @Test
    void shouldLoseNoPromptWhenKilledMidBatchAndRestarted(TestKafka kafka) throws Exception {
        try (GenHarness h = new GenHarness(kafka, "crash", dir)) {
            List<Prompt> prompts = GenHarness.prompts(40, "c");
            Set<Long> heldSeeds = killInside(h, prompts, "model");
            assertTrue(h.rollouts().stream().noneMatch(r -> heldSeeds.contains(r.getSeed())),
                    "no rollout of the batch that was inside the model call reached the topic before the restart");
            restartAndCheck(h, prompts, heldSeeds);
        }
    }

    /**
     * The kill lands after some of a batch's rollouts are in the log, before their transaction commits: those
     * records are aborted (hidden from read_committed readers) when the restarted instance registers the same
     * transactional id, and the restart generates them again, so no sample is seen twice.
     */
    @Test
    void shouldPublishNoSampleTwiceWhenKilledWhileSendingABatch(TestKafka kafka) throws Exception {
        try (GenHarness h = new GenHarness(kafka, "crashsend", dir)) {
            List<Prompt> prompts = GenHarness.prompts(40, "s");
            Set<Long> heldSeeds = killInside(h, prompts, "send");
            RegistryAvroSerde<Rollout> serde = h.settings.valueSerde(Topics.ROLLOUTS);
            long heldInLog = h.readUncommitted(Topics.ROLLOUTS).stream()
                    .map(r -> serde.deserialize(r.topic(), r.value()))
                    .filter(r -> heldSeeds.contains(r.getSeed())).count();
            assertTrue(heldInLog >= 1, "the kill landed after the held batch's first rollouts were written");
            assertTrue(h.rollouts().stream().noneMatch(r -> heldSeeds.contains(r.getSeed())),
                    "a read_committed reader sees none of the open transaction's rollouts");
            restartAndCheck(h, prompts, heldSeeds);
        }
    }

    /** Runs a generator child until it holds a batch at {@code where}, kills it with SIGKILL; the held seeds. */
    private Set<Long> killInside(GenHarness h, List<Prompt> prompts, String where) throws Exception {
        ToySampler.writeFolder(dir.resolve("initial-weights"), 4);
        h.publishPrompts(prompts);
        Path hold = dir.resolve("hold-next-batch");
        Path held = dir.resolve("held-batch-seeds");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Xmx256m",
                GeneratorChildMain.class.getName(), h.settings.bootstrapServers(), h.settings.topicPrefix(), "150",
                hold.toString(), held.toString(), where)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("child.log").toFile());
        Map<String, String> env = pb.environment();
        env.put("SALSA_GENERATOR_STATE_DIR", dir.toString());
        env.put("SALSA_GENERATOR_GROUP", GROUP);
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
            // the child's next batch holds: the kill below lands inside a batch, not between two
            Files.createFile(hold);
            GenHarness.await("the child to hold a batch", Duration.ofSeconds(60),
                    () -> Files.exists(held) || !child.isAlive());
            if (where.equals("send")) {
                // the held batch's first rollouts reach the log (the producer's I/O thread keeps sending)
                RegistryAvroSerde<Rollout> serde = h.settings.valueSerde(Topics.ROLLOUTS);
                Set<Long> seeds = seeds(held);
                GenHarness.await("the held batch's first rollouts in the log", Duration.ofSeconds(60),
                        () -> h.readUncommitted(Topics.ROLLOUTS).stream().anyMatch(r -> seeds.contains(
                                serde.deserialize(r.topic(), r.value()).getSeed())) || !child.isAlive());
            }
            assertTrue(child.isAlive(), "the child died on its own; see " + dir.resolve("child.log"));
            child.destroyForcibly(); // SIGKILL: no shutdown hook, no final commit, a batch half done
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        } finally {
            child.destroyForcibly();
        }
        long beforeRestart = h.count(Topics.ROLLOUTS);
        assertTrue(beforeRestart < 2L * prompts.size(), "killed before the end (" + beforeRestart + " rollouts)");
        Set<Long> heldSeeds = seeds(held);
        assertFalse(heldSeeds.isEmpty(), "the held batch had requests");
        long committedAtKill = h.committed(GROUP).values().stream().mapToLong(OffsetAndMetadata::offset).sum();
        assertTrue(committedAtKill < prompts.size(), "uncommitted prompts at the kill: " + committedAtKill
                + " of " + prompts.size() + " committed");
        return heldSeeds;
    }

    /** Restarts under the same group and state folder (same generator id): every sample exactly once. */
    private void restartAndCheck(GenHarness h, List<Prompt> prompts, Set<Long> heldSeeds) throws Exception {
        GeneratorConfig config = h.config("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "2", "SALSA_GENERATOR_BATCH_SIZE", "4");
        try (GenHarness.Running g = h.start(config, ToySampler.factory(0), GeneratorAppIT.NO_BLOBS)) {
            GenHarness.await("every prompt's rollouts", Duration.ofSeconds(120), () -> GeneratorAppIT.keys(
                    h.rollouts()).equals(GeneratorAppIT.expectedKeys(prompts, 2)));
            GenHarness.await("every prompt committed", Duration.ofSeconds(60), () -> h.committed(GROUP).values()
                    .stream().mapToLong(OffsetAndMetadata::offset).sum() == prompts.size());
        }
        List<Rollout> rollouts = h.rollouts();
        assertEquals(GeneratorAppIT.expectedKeys(prompts, 2), GeneratorAppIT.keys(rollouts));
        assertEquals(heldSeeds, rollouts.stream().map(Rollout::getSeed).filter(heldSeeds::contains)
                .collect(Collectors.toSet()), "the restart generated the batch the kill interrupted");
        Map<String, Long> perKey = rollouts.stream().collect(Collectors.groupingBy(
                r -> r.getPromptId() + "#" + r.getSampleIndex(), Collectors.counting()));
        assertEquals(Map.of(), perKey.entrySet().stream().filter(e -> e.getValue() != 1)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)), "samples seen twice");
        assertEquals(2L * prompts.size(), rollouts.size());
        assertTrue(new File(dir.resolve("generator-id").toString()).exists());
        assertEquals(1, rollouts.stream().map(Rollout::getGeneratorId).distinct().count(),
                "the restarted instance keeps its generator id");
    }

    private static Set<Long> seeds(Path held) throws java.io.IOException {
        return Files.readAllLines(held).stream().map(Long::parseLong).collect(Collectors.toSet());
    }
}
