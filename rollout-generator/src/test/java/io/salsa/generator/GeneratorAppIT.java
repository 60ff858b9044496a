package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.DeadLetter;
import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.ServiceRunner;
import io.salsa.schemas.Topics;
import io.salsa.testkit.Conditions;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.Probes;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(KafkaExtension.class)
class GeneratorAppIT {

    static final WeightFetcher NO_BLOBS = blob -> {
        throw new AssertionError("no blob expected in this test: " + blob);
    };

    @TempDir
    Path dir;

    /** Keys "promptId#sampleIndex" of rollouts. */
    static Set<String> keys(List<Rollout> rollouts) {
        return rollouts.stream().map(r -> r.getPromptId() + "#" + r.getSampleIndex())
                .collect(Collectors.toCollection(TreeSet::new));
    }

    static Set<String> expectedKeys(List<Prompt> prompts, int n) {
        Set<String> out = new TreeSet<>();
        for (Prompt p : prompts) {
            for (int i = 0; i < n; i++) {
                out.add(p.getPromptId() + "#" + i);
            }
        }
        return out;
    }

    @Test
    void shouldPublishNRolloutsForEveryPromptAndDeadLetterUnusableOnes(TestKafka kafka) throws Exception {
        try (GenHarness h = new GenHarness(kafka, "every-prompt", dir)) {
            ToySampler.writeFolder(dir.resolve("initial-weights"), 7);
            GeneratorConfig config = h.config("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "3",
                    "SALSA_GENERATOR_BATCH_SIZE", "4", "SALSA_GENERATOR_SEED", "11", "SALSA_GENERATOR_ID", "gen-a");
            List<Prompt> good = new ArrayList<>(GenHarness.prompts(12, "q"));
            good.add(GenHarness.prompt("ids-only", "", List.of(5, 6, 7)));
            h.publishPrompts(good);
            h.publishPrompts(List.of(GenHarness.prompt("blank", "   ", List.of()),
                    GenHarness.prompt("too-long", "", Collections.nCopies(125, 3)),
                    GenHarness.prompt("bad-id", "", List.of(1, 5000))));
            h.publishRaw(Topics.PROMPTS, "garbage", new byte[] {9, 9, 9, 9, 9, 9});

            try (GenHarness.Running g = h.start(config, ToySampler.factory(0), NO_BLOBS)) {
                GenHarness.await("all rollouts and dead letters", Duration.ofSeconds(60),
                        () -> h.count(Topics.ROLLOUTS) >= 39 && h.count(Topics.DEAD_LETTERS) >= 4);
            }

            List<Rollout> rollouts = h.rollouts();
            assertEquals(39, rollouts.size());
            assertEquals(expectedKeys(good, 3), keys(rollouts));
            for (Rollout r : rollouts) {
                assertEquals(0, r.getPolicyVersion());
                assertEquals("initial", r.getPolicyRunId());
                assertEquals("gen-a", r.getGeneratorId());
                assertEquals(7, r.getResponseTokenIds().get(0), "produced by the initial weights");
                assertEquals(r.getResponseTokenIds().size(), r.getBehaviourLogProbs().size());
                assertEquals(RolloutSeeds.derive(11, r.getPromptId(), 0, r.getSampleIndex(), 0), r.getSeed());
                assertEquals(r.getStoppedAtEos(), r.getResponseTokenIds().get(r.getResponseTokenIds().size() - 1) == 0);
                assertEquals(1.0f, r.getTemperature());
                assertTrue(r.getResponseText() != null && r.getPromptText() != null);
            }
            Rollout idsOnly = rollouts.stream().filter(r -> r.getPromptId().equals("ids-only")).findFirst().orElseThrow();
            assertEquals(List.of(5, 6, 7), idsOnly.getPromptTokenIds());
            assertEquals("w5 w6 w7", idsOnly.getPromptText(), "text decoded from the ids");

            Map<String, String> reasons = h.deadLetters().stream().collect(Collectors.toMap(
                    d -> d.getKey() == null ? "?" : new String(d.getKey().array(), java.nio.charset.StandardCharsets.UTF_8),
                    DeadLetter::getError));
            assertEquals(Set.of("blank", "too-long", "bad-id", "garbage"), reasons.keySet());
            assertTrue(reasons.get("blank").contains("empty-prompt"), reasons.get("blank"));
            assertTrue(reasons.get("too-long").contains("prompt-too-long"), reasons.get("too-long"));
            assertTrue(reasons.get("bad-id").contains("token-out-of-vocabulary"), reasons.get("bad-id"));
            assertTrue(reasons.get("garbage").contains("magic"), reasons.get("garbage"));
            h.deadLetters().forEach(d -> assertEquals(GeneratorApp.SERVICE, d.getService()));

            // every prompt is committed: the group's offsets reach the end of the prompts topic
            Map<TopicPartition, OffsetAndMetadata> committed = h.committed(config.consumerGroup());
            assertEquals(h.count(Topics.PROMPTS), committed.values().stream().mapToLong(OffsetAndMetadata::offset).sum());
        }
    }

    @Test
    void shouldGoUpUnderTheServiceRunnerAndCommitEverythingWhenClosed(TestKafka kafka) throws Exception {
        try (GenHarness h = new GenHarness(kafka, "as-service", dir)) {
            ToySampler.writeFolder(dir.resolve("initial-weights"), 7);
            GeneratorConfig config = h.config("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "2",
                    "SALSA_GENERATOR_BATCH_SIZE", "2", "SALSA_GENERATOR_ID", "gen-svc");
            GeneratorApp app = new GeneratorApp(h.settings, config, ToySampler.factory(0), NO_BLOBS);
            assertEquals("rollout-generator/gen-svc", app.name());
            assertEquals(Health.Status.STARTING, app.health().status(), "no weights before run");
            h.publishPrompts(GenHarness.prompts(3, "s"));

            ServiceRunner.Background running = ServiceRunner.start(app, 0);
            try {
                h.awaitRecords(Topics.ROLLOUTS, 6, Duration.ofSeconds(60));
                // rollouts exist only after the weights loaded and the group assigned the prompts
                Health health = app.health();
                assertTrue(health.isUp(), health.toString());
                running.checkHealthy();
                Conditions.await("every rollout acknowledged", Duration.ofSeconds(30),
                        () -> app.stats().rolloutsAcked() == 6);
                String scrape = Probes.assertServing(running.probePort(), "kafka_consumer_",
                        List.of("salsa_generator_policy_version{generator_id=\"gen-svc\"}", "kafka_producer_"));
                assertTrue(scrape.contains("salsa_generator_rollouts_acked_total{generator_id=\"gen-svc\"} 6.0"),
                        "the generator's own counters");
            } finally {
                running.close();
            }
            assertFalse(running.running());
            assertNull(running.failure());
            assertEquals(Health.Status.DOWN, app.health().status());
            assertEquals(6, h.rollouts().size());
            Map<TopicPartition, OffsetAndMetadata> committed = h.committed(config.consumerGroup());
            assertEquals(h.count(Topics.PROMPTS), committed.values().stream().mapToLong(OffsetAndMetadata::offset).sum(),
                    "a clean stop commits every prompt it finished");
        }
    }
}
