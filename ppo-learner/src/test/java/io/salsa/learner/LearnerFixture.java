package io.salsa.learner;

import ai.djl.Device;
import io.salsa.events.BatchManifest;
import io.salsa.events.BlobRef;
import io.salsa.events.Rollout;
import io.salsa.events.ScoredRollout;
import io.salsa.events.SoupManifest;
import io.salsa.events.SoupMember;
import io.salsa.events.SoupMethod;
import io.salsa.events.TrainingMetrics;
import io.salsa.model.generate.Generation;
import io.salsa.model.generate.Generator;
import io.salsa.model.generate.SamplingConfig;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.runtime.blob.LocalBlobStore;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import io.salsa.testkit.TestKafka;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Shared set-up of the learner tests: tiny GPT-2 soups, soup manifests, scored rollouts written to the topic. */
final class LearnerFixture {

    static final GptConfig TINY = GptConfig.of(2, 2, 32, 64, 64, 0, 1);
    static final String RECIPE = "tiny-soup";

    /** Reward for "prefer low token ids": the share of response tokens below 16 (about 1/4 at random). */
    static final ToDoubleFunction<int[]> PREFER_LOW = r -> {
        int n = 0;
        for (int t : r) {
            n += t < 16 ? 1 : 0;
        }
        return (double) n / r.length;
    };

    private LearnerFixture() {}

    /** A model-folder store over a local blob store in {@code root} (the real store, on a temp folder). */
    static ModelFolderStore store(Path root) throws IOException {
        return new ModelFolderStore(new LocalBlobStore(root.resolve("store")), root.resolve("cache"));
    }

    /** A random tiny GPT-2 model folder. */
    static Path tinyModel(Path dir, long seed) throws IOException {
        try (GptModel m = GptModel.random(TINY, GptModel.Head.NONE, seed, Device.cpu())) {
            m.save(dir);
        }
        return dir;
    }

    /** A random tiny model whose embeddings are scaled up, so its next-token distributions are sharp. */
    static Path peakyModel(Path dir, long seed) throws IOException {
        try (GptModel m = GptModel.random(TINY, GptModel.Head.NONE, seed, Device.cpu())) {
            float[] wte = m.weights("transformer.wte.weight");
            for (int i = 0; i < wte.length; i++) {
                wte[i] *= 60f;
            }
            m.setWeights("transformer.wte.weight", wte);
            m.save(dir);
        }
        return dir;
    }

    static Map<String, String> settings(String runId, int batch, int mini, int saveSteps) {
        return new java.util.LinkedHashMap<>(Map.of("run_id", runId, "soup_recipe", RECIPE, "batch_size",
                Integer.toString(batch), "mini_batch_size", Integer.toString(mini), "ppo_epochs", "2",
                "save_steps", Integer.toString(saveSteps), "metrics_port", "-1", "learning_rate", "0.003",
                "init_kl_coef", "0.05", "max_staleness", "1000"));
    }

    /** Where a learner test runs: Kafka with the learner's topics, a blob store, and soup 1 of the recipe. */
    record World(KafkaSettings kafka, ModelFolderStore store, Path soupDir, BlobRef soup) {
    }

    /**
     * The learner's topics under {@code prefix}, a store in {@code tmp/blobs}, and a tiny random soup (seed
     * {@code soupSeed}) in {@code tmp/soup}, uploaded and published as version 1 of the recipe: where a learner or
     * replay test starts. The soup's folder is the behaviour policy of the test's rollouts.
     */
    static World world(TestKafka broker, String prefix, Path tmp, long soupSeed) throws Exception {
        return world(KafkaSettings.embedded(broker.bootstrapServers(), prefix), tmp, soupSeed);
    }

    /** As {@link #world(TestKafka, String, Path, long)} on a broker given by its settings. */
    static World world(KafkaSettings kafka, Path tmp, long soupSeed) throws Exception {
        return world(kafka, tmp, tinyModel(tmp.resolve("soup"), soupSeed));
    }

    /** As {@link #world(KafkaSettings, Path, long)} with a soup folder made by the caller (any architecture). */
    static World world(KafkaSettings kafka, Path tmp, Path soupDir) throws Exception {
        ensureTopics(kafka);
        ModelFolderStore store = store(tmp.resolve("blobs"));
        BlobRef soup = store.putFolder(soupDir, "test/soup");
        publishSoup(kafka, 1, soup);
        return new World(kafka, store, soupDir, soup);
    }

    static void ensureTopics(KafkaSettings kafka) {
        TopicAdmin.ensureTopics(kafka, List.of(Topics.SCORED_ROLLOUTS, Topics.SOUP, Topics.POLICY, Topics.SFT_MODELS,
                Topics.LEARNER_BATCHES, Topics.METRICS, Topics.DEAD_LETTERS));
    }

    static KafkaProducer<String, byte[]> producer(KafkaSettings kafka) {
        return new KafkaProducer<>(kafka.producerProps(), new StringSerializer(), new ByteArraySerializer());
    }

    static void publishSoup(KafkaSettings kafka, long version, BlobRef blob) throws Exception {
        SoupManifest m = new SoupManifest(RECIPE, version, "tiny-base", SoupMethod.UNIFORM,
                List.of(new SoupMember("m" + version, blob, 1.0)), blob, System.currentTimeMillis());
        String topic = kafka.topic(Topics.SOUP);
        try (KafkaProducer<String, byte[]> p = producer(kafka)) {
            p.send(new ProducerRecord<>(topic, RECIPE, kafka.valueSerde(Topics.SOUP).serialize(topic, m))).get();
        }
    }

    /**
     * Samples {@code n} responses of up to 8 tokens from {@code policy} (temperature 1, behaviour log-probs at
     * temperature 1) and writes them, scored by {@code reward}, to the scored-rollouts topic.
     */
    static void writeRollouts(KafkaSettings kafka, CausalLm policy, String runId, long policyVersion, int n,
            long seed, ToDoubleFunction<int[]> reward) throws Exception {
        writeRollouts(kafka, policy, runId, policyVersion, n, seed, reward, 1);
    }

    /**
     * As {@link #writeRollouts(KafkaSettings, CausalLm, String, long, int, long, ToDoubleFunction)}, with each
     * prompt answered {@code groupSize} times in a row under one prompt id (GRPO/RLOO groups).
     */
    static void writeRollouts(KafkaSettings kafka, CausalLm policy, String runId, long policyVersion, int n,
            long seed, ToDoubleFunction<int[]> reward, int groupSize) throws Exception {
        writeRollouts(kafka, policy, runId, policyVersion, n, seed, (prompt, response) -> reward.applyAsDouble(response),
                groupSize);
    }

    /** As above, with a reward of prompt and response (a reward model's score). */
    static void writeRollouts(KafkaSettings kafka, CausalLm policy, String runId, long policyVersion, int n,
            long seed, java.util.function.ToDoubleBiFunction<int[], int[]> reward, int groupSize) throws Exception {
        List<int[]> prompts = new ArrayList<>();
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            if (i % groupSize == 0) {
                prompts.add(new int[] {2 + random.nextInt(60), 2 + random.nextInt(60), 2 + random.nextInt(60)});
            } else {
                prompts.add(prompts.get(i - 1));
            }
        }
        List<Generation> gens = new Generator(policy).generate(prompts,
                SamplingConfig.sampling(8).withStopAtEos(false), seed);
        String topic = kafka.topic(Topics.SCORED_ROLLOUTS);
        RegistryAvroSerde<ScoredRollout> serde = kafka.valueSerde(Topics.SCORED_ROLLOUTS);
        try (KafkaProducer<String, byte[]> p = producer(kafka)) {
            for (int i = 0; i < n; i++) {
                Generation g = gens.get(i);
                List<Integer> prompt = new ArrayList<>();
                for (int t : prompts.get(i)) {
                    prompt.add(t);
                }
                List<Integer> response = new ArrayList<>();
                List<Float> logprobs = new ArrayList<>();
                for (int t = 0; t < g.tokens().length; t++) {
                    response.add(g.tokens()[t]);
                    logprobs.add(g.logProbs()[t]);
                }
                String promptId = "p" + seed + "-" + (i / groupSize);
                String rolloutId = promptId + "-v" + policyVersion + (groupSize == 1 ? "" : "-s" + i % groupSize);
                Rollout r = Rollout.newBuilder().setRolloutId(rolloutId).setPromptId(promptId)
                        .setPromptTokenIds(prompt).setResponseTokenIds(response).setBehaviourLogProbs(logprobs)
                        .setStoppedAtEos(g.stoppedAtEos()).setPolicyRunId(runId).setPolicyVersion(policyVersion)
                        .setGeneratorId("test").setSampleIndex(i % groupSize).setSeed(seed + i).setTemperature(1f)
                        .setTopK(0).setTopP(1f).setGenerationMs(0).setCreatedAtMs(System.currentTimeMillis()).build();
                float score = (float) reward.applyAsDouble(prompts.get(i), g.tokens());
                ScoredRollout s = new ScoredRollout(r, score, score, "test-reward", 1L, "test", 0L);
                p.send(new ProducerRecord<>(topic, promptId, serde.serialize(topic, s)));
            }
            p.flush();
        }
    }

    static List<BatchManifest> manifests(KafkaSettings kafka, String runId) {
        String topic = kafka.topic(Topics.LEARNER_BATCHES);
        List<BatchManifest> out = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : KafkaLog.readAll(kafka, topic)) {
            if (runId.equals(r.key())) {
                out.add(kafka.valueSerde(Topics.LEARNER_BATCHES).deserialize(topic, r.value()));
            }
        }
        return out;
    }

    static List<TrainingMetrics> metrics(KafkaSettings kafka, String runId) {
        String topic = kafka.topic(Topics.METRICS);
        List<TrainingMetrics> out = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : KafkaLog.readAll(kafka, topic)) {
            if (runId.equals(r.key())) {
                out.add(kafka.valueSerde(Topics.METRICS).deserialize(topic, r.value()));
            }
        }
        return out;
    }

    static PpoLearner.TrainerFactory gptFactory() {
        return LmPolicyTrainer::open;
    }

    /**
     * Trains {@code learner} from step {@code step} on fresh rollouts of its policy until soup {@code soupVersion} is
     * its reference (at most until step 12), then on to an even step, so a restart resumes from a checkpoint
     * (save_steps 2); returns the step reached.
     */
    static long trainUntilSoupThenToACheckpoint(PpoLearner learner, KafkaSettings kafka, String runId, int batch,
            long step, long soupVersion, java.util.function.ToDoubleBiFunction<int[], int[]> reward) throws Exception {
        CausalLm policy = ((LmPolicyTrainer) learner.policy()).policy();
        while (learner.state().soup().version() != soupVersion && step < 12) {
            writeRollouts(kafka, policy, runId, learner.state().policyVersion(), batch, 100 + step, reward, 1);
            learner.runUntil(++step, () -> false);
        }
        if (step % 2 == 1) {
            writeRollouts(kafka, policy, runId, learner.state().policyVersion(), batch, 200 + step, reward, 1);
            learner.runUntil(++step, () -> false);
        }
        return step;
    }

    /** {@code salsa replay} of {@code runId} re-trains its {@code steps} steps and matches every checkpoint (≥ 4). */
    static void assertReplaysBitForBit(KafkaSettings kafka, ModelFolderStore store, String runId, long steps)
            throws Exception {
        Replay.Report report = Replay.run(runId, kafka, store, gptFactory(), Device.cpu());
        org.junit.jupiter.api.Assertions.assertEquals(steps, report.steps());
        org.junit.jupiter.api.Assertions.assertTrue(report.checkpoints().size() >= 4,
                "v0 and every second step: " + report.checkpoints());
        org.junit.jupiter.api.Assertions.assertTrue(report.allIdentical(),
                "replayed checkpoints differ: " + report.checkpoints());
    }

    /**
     * Restarts run {@code settings} (it must resume at {@code step}) and trains two more steps on fresh rollouts of
     * its policy; returns the step reached.
     */
    static long resumeAndTrainTwoSteps(Map<String, String> settings, KafkaSettings kafka, ModelFolderStore store,
            int batch, long step, java.util.function.ToDoubleBiFunction<int[], int[]> reward) throws Exception {
        try (PpoLearner learner = PpoLearner.start(LearnerConfig.fromMap(settings), kafka, store, gptFactory(),
                () -> false)) {
            org.junit.jupiter.api.Assertions.assertEquals(step, learner.state().step(), "resumed at the checkpoint");
            CausalLm policy = ((LmPolicyTrainer) learner.policy()).policy();
            for (int i = 0; i < 2; i++) {
                writeRollouts(kafka, policy, settings.get("run_id"), learner.state().policyVersion(), batch,
                        300 + step, reward, 1);
                learner.runUntil(++step, () -> false);
            }
        }
        return step;
    }
}
