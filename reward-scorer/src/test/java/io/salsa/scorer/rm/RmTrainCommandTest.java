package io.salsa.scorer.rm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.events.RewardModelCheckpoint;
import io.salsa.events.Rollout;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.runtime.blob.BlobIntegrityException;
import io.salsa.runtime.blob.LocalBlobStore;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import io.salsa.scorer.BlobRewardModelLoader;
import io.salsa.scorer.LmRewardScorerModel;
import io.salsa.scorer.RewardScorerModel;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import io.salsa.testkit.Captured;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@ExtendWith(KafkaExtension.class)
class RmTrainCommandTest {

    @TempDir
    static Path dir;
    static Path task;
    static Path init;

    @BeforeAll
    static void taskAndSftModel() throws Exception {
        task = taskWithInitModel(dir.resolve("task"), new TaskConfig(5, 12, 0.15, 0.1, 120, 1, 512),
                dir.resolve("sft"), 3);
        init = dir.resolve("sft");
    }

    /**
     * Writes the built-in task with {@code config} to {@code task} and a random tiny GPT-2 (seed {@code seed}) with
     * the task's tokenizer to {@code init}, the model an {@code rm train --init} starts from; returns {@code task}.
     */
    static Path taskWithInitModel(Path task, TaskConfig config, Path init, long seed) throws Exception {
        TaskDataset.generate(config).writeTo(task);
        Files.createDirectories(init);
        try (SalsaTokenizer tokenizer = SalsaTokenizer.load(task)) {
            tokenizer.saveTo(init);
            GptConfig cfg = GptConfig.of(2, 2, 32, tokenizer.vocabSize(), 128, tokenizer.eosId(), tokenizer.padId());
            try (GptModel m = GptModel.random(cfg, GptModel.Head.NONE, seed, Device.cpu())) {
                m.save(init);
            }
        }
        return task;
    }

    private static Captured<Integer> run(String... args) throws Exception {
        return Captured.of(() -> new CommandLine(new RmTrainCommand()).execute(args));
    }

    @Test
    void shouldTrainPublishAndBeLoadableByTheScorerWithItsSha256Verified(TestKafka kafka) throws Exception {
        String prefix = "rmtrain-" + System.nanoTime() + ".";
        Path blobs = dir.resolve("blobs");
        Path out = dir.resolve("rm-out");
        Captured<Integer> r = run("--data", task.resolve("preferences.jsonl").toString(), "--init", init.toString(),
                "--out", out.toString(), "--seed", "1", "--max-steps", "3", "--batch-size", "8", "--publish",
                "--name", "rm-test", "--bootstrap", kafka.bootstrapServers(), "--topic-prefix", prefix,
                "--blob-store", blobs.toUri().toString());
        assertEquals(0, r.value(), r.err() + r.out());
        assertTrue(r.out().contains("held-out pairwise accuracy"), r.out());
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve("card.json")));
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));

        KafkaSettings settings = KafkaSettings.embedded(kafka.bootstrapServers(), prefix);
        List<RewardModelCheckpoint> published = readCheckpoints(settings);
        assertEquals(1, published.size());
        RewardModelCheckpoint cp = published.get(0);
        assertEquals("rm-test", cp.getName());
        assertEquals(1L, cp.getVersion(), "the first version of a name is 1");
        assertTrue(cp.getTrainPairs() > 0 && cp.getHeldOutPairs() > 0);

        Rollout rollout = Rollout.newBuilder().setRolloutId("r").setPromptId("p").setPromptTokenIds(List.of(5, 6, 7))
                .setResponseTokenIds(List.of(8, 9, 0)).setBehaviourLogProbs(List.of(-1f, -1f, -1f))
                .setStoppedAtEos(true).setPolicyRunId("run").setPolicyVersion(0).setGeneratorId("g")
                .setSampleIndex(0).setSeed(0).setTemperature(1f).setTopK(0).setTopP(1f).setGenerationMs(0)
                .setCreatedAtMs(0).build();
        BlobRewardModelLoader loader = new BlobRewardModelLoader(new LocalBlobStore(blobs), dir.resolve("cache"),
                Device.cpu());
        try (RewardScorerModel fromBlob = loader.load(cp);
             LmRewardScorerModel fromFolder = LmRewardScorerModel.load(out, "rm-test", 1, Device.cpu())) {
            assertEquals(fromFolder.score(List.of(rollout))[0], fromBlob.score(List.of(rollout))[0], 0f,
                    "the published blob is the trained model");
            assertEquals(1L, fromBlob.version());
        }

        RewardModelCheckpoint tampered = RewardModelCheckpoint.newBuilder(cp)
                .setBlob(io.salsa.events.BlobRef.newBuilder(cp.getBlob()).setSha256("0".repeat(64)).build()).build();
        assertThrows(BlobIntegrityException.class, () -> loader.load(tampered),
                "a blob that does not hash to the checkpoint's sha256 is refused");

        Captured<Integer> second = run("--data", task.resolve("preferences.jsonl").toString(), "--init", init.toString(),
                "--out", dir.resolve("rm-out-2").toString(), "--seed", "2", "--max-steps", "1", "--publish",
                "--name", "rm-test", "--bootstrap", kafka.bootstrapServers(), "--topic-prefix", prefix,
                "--blob-store", blobs.toUri().toString());
        assertEquals(0, second.value(), second.err());
        assertEquals(List.of(1L, 2L), readCheckpoints(settings).stream().map(RewardModelCheckpoint::getVersion).toList(),
                "the next run publishes the next version");
    }

    private static List<RewardModelCheckpoint> readCheckpoints(KafkaSettings settings) {
        return KafkaLog.readValues(settings, Topics.REWARD_MODELS, Duration.ofSeconds(60), (r, e) -> {
            throw e;
        });
    }

    @Test
    void shouldReadPairwisePreferencesFromTheFeedbackTopicAndSkipRatingsAndGarbage(TestKafka kafka) throws Exception {
        String prefix = "feedback-" + System.nanoTime() + ".";
        KafkaSettings settings = KafkaSettings.embedded(kafka.bootstrapServers(), prefix);
        io.salsa.schemas.TopicAdmin.ensureTopics(settings, List.of(Topics.FEEDBACK));
        RegistryAvroSerde<io.salsa.events.Preference> serde = settings.valueSerde(Topics.FEEDBACK);
        String topic = settings.topic(Topics.FEEDBACK);
        try (org.apache.kafka.clients.producer.KafkaProducer<String, byte[]> producer =
                     new org.apache.kafka.clients.producer.KafkaProducer<>(settings.producerProps(),
                             new org.apache.kafka.common.serialization.StringSerializer(),
                             new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, "p1",
                    serde.serialize(topic, preference("p1", io.salsa.events.Choice.B, null))));
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, "p2",
                    serde.serialize(topic, preference("p2", io.salsa.events.Choice.TIE, null))));
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, "p3",
                    serde.serialize(topic, preference("p3", null, 5))));
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, "p4",
                    "not a preference".getBytes(StandardCharsets.UTF_8)));
            producer.flush();
        }
        try (SalsaTokenizer tokenizer = SalsaTokenizer.load(init)) {
            PreferenceData.Loaded loaded = PreferenceData.readTopic(settings, tokenizer, Duration.ofSeconds(60));
            assertEquals(2, loaded.pairs().size());
            assertEquals(2, loaded.skipped(), "the rating and the undecodable record");
            PreferencePair b = loaded.pairs().stream().filter(p -> !p.tie()).findFirst().orElseThrow();
            int[] prompt = tokenizer.encode("what is the answer?");
            int[] expectedChosen = PreferenceData.sequence(prompt, new int[] {7, 8}, tokenizer);
            assertEquals(java.util.Arrays.toString(java.util.Arrays.copyOf(expectedChosen, expectedChosen.length - 1)),
                    java.util.Arrays.toString(b.chosen()), "choice B: response B (token ids as the rollout had them) is chosen");
            assertTrue(loaded.pairs().stream().anyMatch(PreferencePair::tie));
        }
    }

    private static io.salsa.events.Preference preference(String promptId, io.salsa.events.Choice choice, Integer rating) {
        io.salsa.events.PreferenceResponse a = io.salsa.events.PreferenceResponse.newBuilder().setText("alpha")
                .setTokenIds(List.of(5, 6)).build();
        io.salsa.events.PreferenceResponse b = io.salsa.events.PreferenceResponse.newBuilder().setText("beta")
                .setTokenIds(List.of(7, 8)).build();
        return io.salsa.events.Preference.newBuilder().setPreferenceId("id-" + promptId).setIdempotencyKey("k-" + promptId)
                .setPromptId(promptId).setPromptText("what is the answer?").setRaterId("simulated:test")
                .setResponseA(a).setResponseB(rating == null ? b : null).setChoice(choice).setRating(rating)
                .setSubmittedAtMs(0).build();
    }

    @Test
    void shouldRefuseAMissingDataFileWithAClearError() throws Exception {
        Captured<Integer> r = run("--data", dir.resolve("nope.jsonl").toString(), "--init", init.toString(),
                "--out", dir.resolve("o1").toString());
        assertEquals(2, r.value());
        assertTrue(r.err().contains("nope.jsonl"), r.err());
        assertTrue(!r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    @Test
    void shouldNameTheLineOfABadPreference() throws Exception {
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n{\"prompt\": \"a\", \"chosen\": 3}\n");
        Captured<Integer> r = run("--data", bad.toString(), "--init", init.toString(), "--out", dir.resolve("o2").toString());
        assertEquals(2, r.value());
        assertTrue(r.err().contains("bad.jsonl:2"), r.err());
        assertTrue(r.err().contains("\"chosen\""), r.err());
    }

    @Test
    void shouldRefuseAnInitFolderWithoutATokenizer() throws Exception {
        Path noTok = dir.resolve("no-tokenizer");
        Files.createDirectories(noTok);
        Files.copy(init.resolve("config.json"), noTok.resolve("config.json"));
        Captured<Integer> r = run("--data", task.resolve("preferences.jsonl").toString(), "--init", noTok.toString(),
                "--out", dir.resolve("o3").toString());
        assertEquals(2, r.value());
        assertTrue(r.err().contains("tokenizer.json"), r.err());
    }
}
