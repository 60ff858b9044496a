package io.salsa.scorer;

import static io.salsa.scorer.TestRollouts.checkpoint;
import static io.salsa.scorer.TestRollouts.rollout;
import static io.salsa.scorer.TestRollouts.rolloutOfLength;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.DeadLetter;
import io.salsa.events.RewardModelCheckpoint;
import io.salsa.events.Rollout;
import io.salsa.events.ScoredRollout;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.registry.InMemorySchemaRegistry;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RewardScorerAppTest {

    private static final String MODEL = "rm-main";

    @TempDir
    Path stateDir;

    private final InMemorySchemaRegistry registry = new InMemorySchemaRegistry();
    private final RegistryAvroSerde<Rollout> rolloutSerde = new RegistryAvroSerde<>(registry, Rollout.class);
    private final RegistryAvroSerde<ScoredRollout> scoredSerde = new RegistryAvroSerde<>(registry, ScoredRollout.class);
    private final RegistryAvroSerde<DeadLetter> deadLetterSerde = new RegistryAvroSerde<>(registry, DeadLetter.class);
    private final RegistryAvroSerde<RewardModelCheckpoint> checkpointSerde =
            new RegistryAvroSerde<>(registry, RewardModelCheckpoint.class);
    private final ScorerMetrics metrics = new ScorerMetrics();
    private final List<LengthRewardModel> loaded = new ArrayList<>();

    private ScorerConfig config;
    private RewardModelSlot slot;
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> rollouts;
    private TestInputTopic<byte[], byte[]> rewardModels;
    private TestOutputTopic<byte[], ScoredRollout> scored;
    private TestOutputTopic<byte[], DeadLetter> deadLetters;

    /** Loads {@link LengthRewardModel}s; a blob URI containing "broken" fails like a sha256 mismatch would. */
    private RewardScorerModel load(RewardModelCheckpoint cp) throws IOException {
        if (cp.getBlob().getUri().contains("broken")) {
            throw new IOException("sha256 mismatch for " + cp.getBlob().getUri());
        }
        LengthRewardModel m = new LengthRewardModel(cp.getName(), cp.getVersion());
        loaded.add(m);
        return m;
    }

    private void start(int batchSize, boolean normalize, RewardScorerModel initial,
                       java.util.concurrent.Executor loadExecutor) {
        config = ScorerConfig.defaults(KafkaSettings.embedded("127.0.0.1:9092", "t."))
                .withIdentity("scorer-test", "scorer-1", stateDir)
                .withModel(MODEL, null)
                .withBatching(batchSize, Duration.ofMillis(100))
                .withNormalize(normalize);
        slot = new RewardModelSlot(MODEL, this::load, loadExecutor);
        if (initial != null) {
            slot.install(initial);
        }
        driver = new TopologyTestDriver(RewardScorerApp.buildTopology(config, registry, slot, metrics),
                RewardScorerApp.streamsConfig(config), Instant.ofEpochMilli(1_000_000));
        rollouts = driver.createInputTopic("t.rollouts", new ByteArraySerializer(), new ByteArraySerializer());
        rewardModels = driver.createInputTopic("t.reward-models", new ByteArraySerializer(), new ByteArraySerializer());
        scored = driver.createOutputTopic("t.scored-rollouts", new ByteArrayDeserializer(), scoredSerde.deserializer());
        deadLetters = driver.createOutputTopic("t.dead-letters", new ByteArrayDeserializer(),
                deadLetterSerde.deserializer());
    }

    private void start(int batchSize, boolean normalize) {
        start(batchSize, normalize, new LengthRewardModel(MODEL, 1), Runnable::run);
    }

    @AfterEach
    void closeDriver() {
        if (driver != null) {
            driver.close();
        }
        if (slot != null) {
            slot.close();
        }
    }

    private void pipe(Rollout r) {
        rollouts.pipeInput(r.getPromptId().getBytes(StandardCharsets.UTF_8),
                rolloutSerde.serialize("t.rollouts", r));
    }

    private void publish(RewardModelCheckpoint cp) {
        rewardModels.pipeInput(cp.getName().getBytes(StandardCharsets.UTF_8),
                checkpointSerde.serialize("t.reward-models", cp));
    }

    private void pipeMany(String prefix, int n, int length) {
        for (int i = 0; i < n; i++) {
            pipe(rolloutOfLength(prefix + i, "p" + i, 10 + i, length));
        }
    }

    @Test
    void shouldScoreFullBatchesAtOnceAndStampTheRewardModel() {
        start(4, false);
        pipeMany("r", 8, 5);
        List<KeyValue<byte[], ScoredRollout>> out = scored.readKeyValuesToList();
        assertEquals(8, out.size());
        for (int i = 0; i < 8; i++) {
            ScoredRollout s = out.get(i).value;
            assertEquals("r" + i, s.getRollout().getRolloutId(), "input order is kept");
            assertEquals("p" + i, new String(out.get(i).key, StandardCharsets.UTF_8), "the key is kept");
            assertEquals(LengthRewardModel.expected(1, s.getRollout()), s.getRawScore(), 0f);
            assertEquals(s.getRawScore(), s.getScore(), 0f, "no normalisation configured");
            assertEquals(MODEL, s.getRewardModelName());
            assertEquals(1L, s.getRewardModelVersion());
            assertEquals("scorer-1", s.getScorerId());
        }
        assertEquals(2, metrics.batches(), "two batches of four");
        assertTrue(deadLetters.isEmpty());
    }

    @Test
    void shouldFlushAPartialBatchOnceItsOldestRolloutWaitedMaxWait() {
        start(4, false);
        pipeMany("r", 3, 5);
        assertTrue(scored.isEmpty(), "a partial batch waits for more rollouts");
        driver.advanceWallClockTime(Duration.ofMillis(50));
        assertTrue(scored.isEmpty(), "not yet: max wait is 100 ms");
        driver.advanceWallClockTime(Duration.ofMillis(60));
        assertEquals(3, scored.readValuesToList().size());
        assertEquals(1, metrics.batches());
    }

    @Test
    void shouldSendUndecodableRolloutsToDeadLettersAndKeepGoing() {
        start(1, false);
        byte[] garbage = "not avro at all".getBytes(StandardCharsets.UTF_8);
        rollouts.pipeInput("p-bad".getBytes(StandardCharsets.UTF_8), garbage);
        byte[] truncated = rolloutSerde.serialize("t.rollouts", rolloutOfLength("r-t", "p-t", 1, 4));
        truncated = java.util.Arrays.copyOf(truncated, truncated.length - 3);
        rollouts.pipeInput("p-t".getBytes(StandardCharsets.UTF_8), truncated);
        pipe(rolloutOfLength("r-ok", "p-ok", 1, 4));

        List<KeyValue<byte[], DeadLetter>> dead = deadLetters.readKeyValuesToList();
        assertEquals(2, dead.size());
        DeadLetter first = dead.get(0).value;
        assertEquals("t.rollouts", first.getSourceTopic());
        assertEquals(0L, first.getOffset());
        assertArrayEquals(garbage, bytes(first.getValue()), "the raw bytes are kept untouched");
        assertEquals("p-bad", new String(dead.get(0).key, StandardCharsets.UTF_8));
        assertTrue(first.getError().contains("magic"), first.getError());
        assertTrue(first.getService().startsWith("reward-scorer/"));
        assertEquals(1L, dead.get(1).value.getOffset());
        List<ScoredRollout> out = scored.readValuesToList();
        assertEquals(1, out.size(), "the app keeps going after bad records");
        assertEquals("r-ok", out.get(0).getRollout().getRolloutId());
    }

    @Test
    void shouldSendInvalidRolloutsToDeadLettersWithTheReason() {
        start(1, false);
        pipe(rollout("r-mismatch", "p1", List.of(1, 2, 3), List.of(-0.1f, -0.2f)));
        pipe(rollout("r-empty", "p2", List.of(), List.of()));
        pipe(rollout("r-nan", "p3", List.of(1, 2), List.of(-0.1f, Float.NaN)));
        pipe(rollout("r-negative-id", "p4", List.of(1, -2), List.of(-0.1f, -0.2f)));
        pipe(rollout("r-ok", "p5", List.of(1, 2), List.of(-0.1f, -0.2f)));

        List<DeadLetter> dead = deadLetters.readValuesToList();
        assertEquals(4, dead.size());
        assertTrue(dead.get(0).getError().contains("behaviourLogProbs has 2 entries but responseTokenIds has 3"),
                dead.get(0).getError());
        assertTrue(dead.get(1).getError().contains("responseTokenIds is empty"), dead.get(1).getError());
        assertTrue(dead.get(2).getError().contains("behaviourLogProbs[1] = NaN"), dead.get(2).getError());
        assertTrue(dead.get(3).getError().contains("responseTokenIds[1] = -2"), dead.get(3).getError());
        assertTrue(dead.get(0).getErrorClass().endsWith("InvalidRolloutException"));
        assertEquals(1, scored.readValuesToList().size());
        assertEquals(4, metrics.deadLettered());
    }

    @Test
    void shouldDeadLetterRolloutsTheModelRejectsOrFailsOnAndScoreTheRestOfTheBatch() {
        start(4, false);
        pipe(rolloutOfLength("r0", "p0", 1, 3));
        pipe(rolloutOfLength("r-oov", "p1", 5000, 3));
        pipe(rolloutOfLength("r-poison", "p2", LengthRewardModel.POISON, 3));
        pipe(rolloutOfLength("r3", "p3", 2, 3));

        List<DeadLetter> dead = deadLetters.readValuesToList();
        assertEquals(2, dead.size());
        assertTrue(dead.get(0).getError().contains("outside the vocabulary"), dead.get(0).getError());
        assertEquals(1L, dead.get(0).getOffset());
        assertTrue(dead.get(1).getError().contains("poison rollout"), dead.get(1).getError());
        assertEquals(2L, dead.get(1).getOffset());
        List<String> ids = scored.readValuesToList().stream().map(s -> s.getRollout().getRolloutId()).toList();
        assertEquals(List.of("r0", "r3"), ids);
    }

    @Test
    void shouldSwapToANewerRewardModelBetweenBatches() {
        start(2, false);
        LengthRewardModel v1 = (LengthRewardModel) firstModel();
        pipeMany("a", 2, 4);
        publish(checkpoint(MODEL, 2, "file:///blobs/v2"));
        pipeMany("b", 2, 4);

        List<ScoredRollout> out = scored.readValuesToList();
        assertEquals(List.of(1L, 1L, 2L, 2L), out.stream().map(ScoredRollout::getRewardModelVersion).toList());
        for (ScoredRollout s : out) {
            assertEquals(LengthRewardModel.expected(s.getRewardModelVersion(), s.getRollout()), s.getRawScore(), 0f,
                    "the score was computed by the version stamped on it");
        }
        assertTrue(v1.closed.get(), "the retired model is released");
        assertEquals(2, slot.currentVersion());
    }

    private RewardScorerModel firstModel() {
        try (RewardModelSlot.Lease lease = slot.acquire()) {
            return lease.model();
        }
    }

    @Test
    void shouldKeepScoringWithTheOldModelWhileTheNewOneLoads() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch loading = new CountDownLatch(1);
        ExecutorService background = Executors.newSingleThreadExecutor();
        try {
            start(2, false, new LengthRewardModel(MODEL, 1), task -> background.execute(() -> {
                loading.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                task.run();
            }));
            publish(checkpoint(MODEL, 2, "file:///blobs/v2"));
            assertTrue(loading.await(10, TimeUnit.SECONDS));
            pipeMany("a", 2, 4);
            assertEquals(List.of(1L, 1L), scored.readValuesToList().stream()
                    .map(ScoredRollout::getRewardModelVersion).toList(), "v2 is not in service before it loaded");
            release.countDown();
            assertTrue(awaitVersion(2));
            pipeMany("b", 2, 4);
            assertEquals(List.of(2L, 2L), scored.readValuesToList().stream()
                    .map(ScoredRollout::getRewardModelVersion).toList());
        } finally {
            release.countDown();
            background.shutdownNow();
        }
    }

    private boolean awaitVersion(long version) throws InterruptedException {
        for (int i = 0; i < 1000 && slot.currentVersion() != version; i++) {
            Thread.sleep(10);
        }
        return slot.currentVersion() == version;
    }

    @Test
    void shouldKeepTheOldModelWhenANewOneFailsToLoad() {
        start(1, false);
        publish(checkpoint(MODEL, 2, "file:///blobs/broken-v2"));
        pipe(rolloutOfLength("r0", "p0", 1, 3));
        assertEquals(1L, scored.readValuesToList().get(0).getRewardModelVersion());
        assertNotNull(slot.lastFailure());
        assertTrue(slot.lastFailure().contains("sha256 mismatch"), slot.lastFailure());

        publish(checkpoint(MODEL, 3, "file:///blobs/v3"));
        pipe(rolloutOfLength("r1", "p1", 1, 3));
        assertEquals(3L, scored.readValuesToList().get(0).getRewardModelVersion());
    }

    @Test
    void shouldIgnoreCheckpointsOfOtherModelsAndOlderVersions() {
        start(1, false, null, Runnable::run);
        publish(checkpoint(MODEL, 5, "file:///blobs/v5"));
        publish(checkpoint("someone-else", 9, "file:///blobs/other"));
        publish(checkpoint(MODEL, 4, "file:///blobs/v4"));
        pipe(rolloutOfLength("r0", "p0", 1, 3));
        ScoredRollout s = scored.readValuesToList().get(0);
        assertEquals(MODEL, s.getRewardModelName());
        assertEquals(5L, s.getRewardModelVersion());
        assertEquals(1, loaded.size(), "only v5 was loaded");
    }

    @Test
    void shouldHoldRolloutsUntilTheFirstRewardModelArrives() {
        start(2, false, null, Runnable::run);
        pipeMany("a", 3, 4);
        driver.advanceWallClockTime(Duration.ofSeconds(1));
        assertTrue(scored.isEmpty(), "nothing is scored without a model");
        assertTrue(deadLetters.isEmpty(), "nor dropped");
        publish(checkpoint(MODEL, 1, "file:///blobs/v1"));
        driver.advanceWallClockTime(Duration.ofMillis(200));
        List<ScoredRollout> out = scored.readValuesToList();
        assertEquals(List.of("a0", "a1", "a2"), out.stream().map(s -> s.getRollout().getRolloutId()).toList());
    }

    @Test
    void shouldNormaliseScoresWithRunningStatsPerRewardModelVersion() {
        start(4, true);
        List<Rollout> batch = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            batch.add(rolloutOfLength("a" + i, "p" + i, 1, 2 + 2 * i)); // raw 1002.001, 1004.001, …
        }
        batch.forEach(this::pipe);
        List<ScoredRollout> first = scored.readValuesToList();
        RunningStats s = RunningStats.EMPTY.plus(rawScores(first));
        for (ScoredRollout r : first) {
            assertEquals(s.normalise(r.getRawScore(), config.normalizeEps()), r.getScore(), 1e-5f);
        }
        assertEquals(0.0, mean(first), 1e-5, "the first batch is centred by its own mean");

        batch.forEach(this::pipe); // same raw scores again: the running stats stay the same
        List<ScoredRollout> second = scored.readValuesToList();
        for (int i = 0; i < 4; i++) {
            assertEquals(first.get(i).getScore(), second.get(i).getScore(), 1e-5f);
        }

        publish(checkpoint(MODEL, 2, "file:///blobs/v2"));
        pipe(rolloutOfLength("c0", "p0", 1, 2));
        driver.advanceWallClockTime(Duration.ofMillis(200));
        ScoredRollout fresh = scored.readValuesToList().get(0);
        assertEquals(2L, fresh.getRewardModelVersion());
        assertEquals(0f, fresh.getScore(), 1e-6f, "v2 starts its own stats: one value normalises to 0");
        assertFalse(fresh.getRawScore() == 0f);
    }

    private static float[] rawScores(List<ScoredRollout> out) {
        float[] raw = new float[out.size()];
        for (int i = 0; i < raw.length; i++) {
            raw[i] = out.get(i).getRawScore();
        }
        return raw;
    }

    private static double mean(List<ScoredRollout> out) {
        return out.stream().mapToDouble(ScoredRollout::getScore).average().orElseThrow();
    }

    private static byte[] bytes(java.nio.ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
