package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.salsa.schemas.Topics;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Same seed, same (real GPT-2) weights, same prompts → identical rollouts, through Kafka, on separate deployments. */
@ExtendWith(KafkaExtension.class)
class RealModelDeterminismIT {

    @TempDir
    Path dir;

    static List<Prompt> prompts() {
        List<Prompt> out = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            List<Integer> ids = new ArrayList<>();
            for (int t = 0; t < 3 + i % 4; t++) {
                ids.add(2 + (i * 53 + t * 17) % 290);
            }
            out.add(GenHarness.prompt("r" + i, "", ids));
        }
        return out;
    }

    @Test
    void shouldReproduceTokenIdsAndLogProbsExactly(TestKafka kafka) throws Exception {
        Path weights = TinyModels.write(dir.resolve("weights"), 42);
        Map<String, Rollout> a = run(kafka, "real-a", weights, "2", "gen-a");
        Map<String, Rollout> b = run(kafka, "real-b", weights, "2", "gen-b");
        Map<String, Rollout> c = run(kafka, "real-c", weights, "8", "gen-c");
        assertEquals(16, a.size());
        assertEquals(a.keySet(), b.keySet());
        assertEquals(a.keySet(), c.keySet());
        for (String key : a.keySet()) {
            // batch = n: every batch is one prompt's samples, whatever the polls returned → bit-identical
            assertEquals(a.get(key).getSeed(), b.get(key).getSeed());
            assertEquals(a.get(key).getResponseTokenIds(), b.get(key).getResponseTokenIds(), key);
            assertEquals(a.get(key).getBehaviourLogProbs(), b.get(key).getBehaviourLogProbs(), key);
            assertEquals(a.get(key).getStoppedAtEos(), b.get(key).getStoppedAtEos(), key);
            // another batching: same tokens; log-probs up to float rounding of other batch shapes
            assertEquals(a.get(key).getResponseTokenIds(), c.get(key).getResponseTokenIds(), key);
            List<Float> x = a.get(key).getBehaviourLogProbs();
            List<Float> y = c.get(key).getBehaviourLogProbs();
            for (int i = 0; i < x.size(); i++) {
                assertTrue(Math.abs(x.get(i) - y.get(i)) < 1e-5, key + " token " + i + ": " + x.get(i) + " vs " + y.get(i));
            }
        }
        assertTrue(a.values().stream().map(Rollout::getResponseTokenIds).distinct().count() > 8,
                "samples of one prompt differ from each other");
    }

    private Map<String, Rollout> run(TestKafka kafka, String name, Path weights, String batch, String id)
            throws Exception {
        try (GenHarness h = new GenHarness(kafka, name, dir.resolve(name))) {
            GeneratorConfig config = h.config("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "2",
                    "SALSA_GENERATOR_BATCH_SIZE", batch, "SALSA_GENERATOR_SEED", "99", "SALSA_GENERATOR_ID", id,
                    "SALSA_GENERATOR_MAX_NEW_TOKENS", "10", "SALSA_GENERATOR_INITIAL_WEIGHTS", weights.toString());
            h.publishPrompts(prompts());
            try (GenHarness.Running g = h.start(config, ModelRolloutSampler.factory(), GeneratorAppIT.NO_BLOBS)) {
                GenHarness.await("rollouts of " + name, Duration.ofSeconds(120), () -> h.count(Topics.ROLLOUTS) >= 16);
            }
            return h.rollouts().stream().collect(Collectors.toMap(r -> r.getPromptId() + "#" + r.getSampleIndex(),
                    Function.identity()));
        }
    }
}
