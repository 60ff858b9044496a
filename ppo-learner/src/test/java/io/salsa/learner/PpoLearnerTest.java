package io.salsa.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.BatchManifest;
import io.salsa.events.BlobRef;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.TrainingMetrics;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.schemas.KafkaSettings;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(KafkaExtension.class)
class PpoLearnerTest {

    @Test
    void shouldRaiseTheRewardWhileKlStaysBounded(TestKafka broker, @TempDir Path tmp) throws Exception {
        LearnerFixture.World world = LearnerFixture.world(broker, "raise.", tmp, 1);
        KafkaSettings kafka = world.kafka();
        ModelFolderStore store = world.store();
        Map<String, String> s = LearnerFixture.settings("raise", 16, 8, 5);
        s.put("metrics_port", "0");
        s.put("learning_rate", "0.01");
        LearnerConfig config = LearnerConfig.fromMap(s);
        int steps = 24;
        try (PpoLearner learner = PpoLearner.start(config, kafka, store, LearnerFixture.gptFactory(), () -> false)) {
            LmPolicyTrainer trainer = (LmPolicyTrainer) learner.policy();
            for (int step = 1; step <= steps; step++) {
                // on-policy: the rollouts of each step come from the policy as it is now
                LearnerFixture.writeRollouts(kafka, trainer.policy(), "raise", learner.state().policyVersion(), 16,
                        1000 + step, LearnerFixture.PREFER_LOW);
                assertEquals(PpoTrainer.Stop.MAX_STEPS, learner.runUntil(step, () -> false));
            }
            String scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + learner.metricsPort() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(scrape.contains("salsa_learner_objective_kl{run_id=\"raise\"}"), scrape);
            assertTrue(scrape.contains("salsa_learner_policy_clipfrac_avg{run_id=\"raise\"}"), scrape);
        }
        List<TrainingMetrics> metrics = LearnerFixture.metrics(kafka, "raise");
        assertEquals(steps, metrics.size());
        double first = average(metrics.subList(0, 6), "objective/scores");
        double last = average(metrics.subList(steps - 6, steps), "objective/scores");
        assertTrue(last > first + 0.15, "reward should rise: first 6 steps " + first + ", last 6 " + last);
        for (TrainingMetrics m : metrics) {
            assertTrue(m.getMetrics().get("objective/kl") < 8.0, "KL bounded at step " + m.getStep() + ": "
                    + m.getMetrics().get("objective/kl"));
            assertEquals(1.0, m.getMetrics().get("soup_version"));
        }
        List<BatchManifest> manifests = LearnerFixture.manifests(kafka, "raise");
        assertEquals(steps, manifests.size());
        for (int i = 0; i < steps; i++) {
            assertEquals(i + 1, manifests.get(i).getStep());
        }
    }

    @Test
    void shouldSwapTheSoupAtABatchBoundary(TestKafka broker, @TempDir Path tmp) throws Exception {
        KafkaSettings kafka = KafkaSettings.embedded(broker.bootstrapServers(), "swap.");
        LearnerFixture.ensureTopics(kafka);
        ModelFolderStore store = LearnerFixture.store(tmp.resolve("blobs"));
        BlobRef soup1 = store.putFolder(LearnerFixture.tinyModel(tmp.resolve("soup1"), 1), "test/soup1");
        BlobRef soup2 = store.putFolder(LearnerFixture.peakyModel(tmp.resolve("soup2"), 2), "test/soup2");
        LearnerFixture.publishSoup(kafka, 1, soup1);
        LearnerConfig config = LearnerConfig.fromMap(LearnerFixture.settings("swap", 8, 8, 100));
        try (PpoLearner learner = PpoLearner.start(config, kafka, store, LearnerFixture.gptFactory(), () -> false)) {
            LmPolicyTrainer trainer = (LmPolicyTrainer) learner.policy();
            LearnerFixture.writeRollouts(kafka, trainer.policy(), "swap", 0, 16, 1, LearnerFixture.PREFER_LOW);
            learner.runUntil(2, () -> false);
            LearnerFixture.publishSoup(kafka, 2, soup2);
            // keep training until a step reports the new soup; the swap may land after any boundary
            long step = 2;
            while (learner.state().soup().version() == 1 && step < 40) {
                LearnerFixture.writeRollouts(kafka, trainer.policy(), "swap", learner.state().policyVersion(), 8,
                        100 + step, LearnerFixture.PREFER_LOW);
                learner.runUntil(++step, () -> false);
            }
            LearnerFixture.writeRollouts(kafka, trainer.policy(), "swap", learner.state().policyVersion(), 8, 999,
                    LearnerFixture.PREFER_LOW);
            learner.runUntil(step + 1, () -> false);
        }
        List<BatchManifest> manifests = LearnerFixture.manifests(kafka, "swap");
        int firstV2 = -1;
        for (int i = 0; i < manifests.size(); i++) {
            long v = manifests.get(i).getSoupVersion();
            if (v == 2 && firstV2 < 0) {
                firstV2 = i;
            }
            assertEquals(firstV2 >= 0 ? 2 : 1, v, "soup versions of the steps must switch once, at a boundary");
        }
        assertTrue(firstV2 >= 2, "the first two steps ran on soup 1");
        List<TrainingMetrics> metrics = LearnerFixture.metrics(kafka, "swap");
        for (int i = 0; i < manifests.size(); i++) {
            assertEquals(manifests.get(i).getSoupVersion(), metrics.get(i).getSoupVersion());
            assertEquals((double) manifests.get(i).getSoupVersion(), metrics.get(i).getMetrics().get("soup_version"));
        }
        // the reference really changed: against a sharp soup the KL jumps at the first step that uses it
        double klBefore = metrics.get(firstV2 - 1).getMetrics().get("objective/kl");
        double klAfter = metrics.get(firstV2).getMetrics().get("objective/kl");
        assertTrue(klAfter > klBefore + 1.0, "KL before the swap " + klBefore + ", after " + klAfter);
        // a checkpoint records the new soup at the boundary
        PolicyCheckpoint latest = LearnerTopics.latestCheckpoint(kafka, "swap");
        assertNotNull(latest);
        assertEquals(2, latest.getSoupVersion());
        assertFalse(manifests.isEmpty());
    }

    private static double average(List<TrainingMetrics> ms, String key) {
        return ms.stream().mapToDouble(m -> m.getMetrics().get(key)).average().orElseThrow();
    }
}
