package io.salsa.bench;

import ai.djl.Device;
import io.salsa.events.Rollout;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.runtime.service.ServiceRunner;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import io.salsa.scorer.RewardScorerApp;
import io.salsa.scorer.RewardScorerModel;
import io.salsa.scorer.ScorerConfig;
import io.salsa.scorer.ScorerMetrics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Measures one scorer instance end to end on a real broker — rollouts/s, and how much of the wall time is
 * spent outside the reward model (Kafka, serde, buffering) — next to the model alone on the same batches.
 */
public final class ScorerBench {

    /**
     * What to run.
     *
     * @param rollouts       rollouts scored in the measured window (after the warm-up)
     * @param warmup         rollouts scored before the window opens (JIT, group join, first transaction)
     * @param promptTokens   prompt length
     * @param responseTokens response length
     * @param batchSize      scorer micro-batch size
     * @param seed           token ids of the synthetic rollouts
     */
    public record Settings(int rollouts, int warmup, int promptTokens, int responseTokens, int batchSize, long seed) {
        public Settings {
            if (rollouts < 1 || warmup < 0 || promptTokens < 0 || responseTokens < 1 || batchSize < 1) {
                throw new IllegalArgumentException("rollouts, response tokens and batch size must be >= 1, "
                        + "warm-up and prompt tokens >= 0");
            }
        }
    }

    /**
     * Results.
     *
     * @param scorerRate        rollouts/s through Kafka Streams in the measured window
     * @param modelShare        share of that window's wall time spent inside the model
     * @param modelOnlyRate     rollouts/s of the model alone on the same batch size (no Kafka), measured after
     * @param batches           batches in the window
     */
    public record Result(Settings settings, double scorerRate, double modelShare, double modelOnlyRate, long batches,
                         double windowSeconds) {
        public double outsideModelShare() {
            return 1 - modelShare;
        }

        /** The numbers of {@link #describe()} as rows of a results table. */
        public ResultTable table() {
            return new ResultTable("scorer").text("measurement", 32).number("value", 10, 3).text("unit", 10)
                    .row("through Kafka Streams", scorerRate, "rollouts/s")
                    .row("time inside the model", modelShare, "share")
                    .row("time outside the model", outsideModelShare(), "share")
                    .row("model alone", modelOnlyRate, "rollouts/s")
                    .row("batches in the window", batches, "batches")
                    .row("window", windowSeconds, "s");
        }

        public String describe() {
            return String.format(Locale.ROOT, "%d rollouts of %d+%d tokens, batch %d: %.1f rollouts/s through Kafka "
                            + "Streams (%d batches in %.1f s); time inside the model %.1f%%, outside (Kafka + serde "
                            + "+ buffer) %.1f%%, i.e. the model alone would do %.1f rollouts/s at the same moment; "
                            + "model alone measured right after: %.1f rollouts/s",
                    settings.rollouts(), settings.promptTokens(), settings.responseTokens(), settings.batchSize(),
                    scorerRate, batches, windowSeconds, 100 * modelShare, 100 * outsideModelShare(),
                    scorerRate / modelShare, modelOnlyRate);
        }
    }

    private ScorerBench() {
    }

    /**
     * The {@code small} golden architecture (4 layers, 4 heads, 128 wide, 1000 tokens) with random weights;
     * {@code n_positions} is raised to fit {@code tokens} (the golden file's 128 would not hold a 256-token
     * rollout). Speed does not depend on the weights' values.
     */
    public static GptModel smallModel(GptConfig golden, int tokens, long seed, Device device) {
        int positions = Math.max(golden.nPositions(), tokens);
        GptConfig cfg = GptConfig.of(golden.nLayer(), golden.nHead(), golden.nEmbd(), golden.vocabSize(), positions,
                golden.eosTokenId(), golden.padTokenId());
        return GptModel.random(cfg, GptModel.Head.SCORE, seed, device);
    }

    /** Synthetic rollouts with ids drawn uniformly from the vocabulary (never pad or EOS, so lengths stay fixed). */
    static List<Rollout> rollouts(Settings s, int count, int vocab, String prefix) {
        SplittableRandom rng = new SplittableRandom(s.seed());
        List<Rollout> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            List<Integer> prompt = new ArrayList<>(s.promptTokens());
            for (int t = 0; t < s.promptTokens(); t++) {
                prompt.add(2 + rng.nextInt(vocab - 2));
            }
            List<Integer> response = new ArrayList<>(s.responseTokens());
            List<Float> logProbs = new ArrayList<>(s.responseTokens());
            for (int t = 0; t < s.responseTokens(); t++) {
                response.add(2 + rng.nextInt(vocab - 2));
                logProbs.add((float) -rng.nextDouble(0.01, 8));
            }
            out.add(Rollout.newBuilder().setRolloutId(prefix + i).setPromptId("prompt-" + (i / 4))
                    .setPromptTokenIds(prompt).setResponseTokenIds(response).setBehaviourLogProbs(logProbs)
                    .setStoppedAtEos(false).setPolicyRunId("bench").setPolicyVersion(0).setGeneratorId("bench")
                    .setSampleIndex(i % 4).setSeed(i).setTemperature(1f).setTopK(0).setTopP(1f)
                    .setGenerationMs(0).setCreatedAtMs(System.currentTimeMillis()).build());
        }
        return out;
    }

    /** Rollouts/s of {@code model} alone, scoring {@code batches} batches of the benchmark's rollouts. */
    static double modelOnlyRate(RewardScorerModel model, Settings s, int vocab, int batches) {
        List<Rollout> rs = rollouts(s, s.batchSize() * (batches + 1), vocab, "m");
        model.score(rs.subList(0, s.batchSize())); // warm-up
        long t0 = System.nanoTime();
        for (int b = 1; b <= batches; b++) {
            model.score(rs.subList(b * s.batchSize(), (b + 1) * s.batchSize()));
        }
        return (double) batches * s.batchSize() / ((System.nanoTime() - t0) / 1e9);
    }

    /**
     * Runs the benchmark against {@code kafka}, serving {@code model}; {@code log} gets the steps, {@code progress}
     * counts the scored rollouts.
     */
    public static Result run(KafkaSettings kafka, Path stateDir, RewardScorerModel model, int vocab, Settings s,
                             Consumer<String> log, ProgressLine progress) throws InterruptedException {
        TopicAdmin.ensureTopics(kafka, List.of(Topics.ROLLOUTS, Topics.SCORED_ROLLOUTS, Topics.REWARD_MODELS,
                Topics.DEAD_LETTERS));
        int total = s.warmup() + s.rollouts();
        log.accept("producing " + total + " rollouts of " + s.promptTokens() + "+" + s.responseTokens()
                + " tokens to " + kafka.topic(Topics.ROLLOUTS));
        RegistryAvroSerde<Rollout> serde = kafka.valueSerde(Topics.ROLLOUTS);
        try (KafkaProducer<String, Rollout> producer = new KafkaProducer<>(kafka.producerProps(),
                new StringSerializer(), serde.serializer())) {
            for (Rollout r : rollouts(s, total, vocab, "r")) {
                producer.send(new ProducerRecord<>(kafka.topic(Topics.ROLLOUTS), r.getPromptId(), r));
            }
            producer.flush();
        }
        ScorerConfig config = ScorerConfig.defaults(kafka)
                .withIdentity("bench-scorer", "bench", stateDir)
                .withModel(model.name(), null)
                .withBatching(s.batchSize(), Duration.ofMillis(100));
        // the scorer's own start-up (topics, slot, streams): the caller owns the model, the slot must not close it,
        // and no checkpoint is ever published under this fresh prefix, so the loader is never asked
        RewardScorerApp scorer = new RewardScorerApp(config, new Unclosed(model), cp -> {
            throw new IllegalStateException("the benchmark serves one fixed model");
        });
        ServiceRunner.Background running = ServiceRunner.start(scorer);
        try {
            ScorerMetrics metrics = scorer.metrics();
            awaitScored(scorer, s.warmup(), progress);
            long scored0 = metrics.scored();
            long model0 = metrics.modelNanos();
            long batches0 = metrics.batches();
            long t0 = System.nanoTime();
            awaitScored(scorer, total, progress);
            long t1 = System.nanoTime();
            double window = (t1 - t0) / 1e9;
            double rate = (metrics.scored() - scored0) / window;
            double modelShare = (metrics.modelNanos() - model0) / (double) (t1 - t0);
            long batches = metrics.batches() - batches0;
            running.close();
            // measured after the stream, so both numbers see the machine in the same state as far as possible
            log.accept("model alone: scoring 16 batches of " + s.batchSize());
            double modelOnly = modelOnlyRate(model, s, vocab, 16);
            return new Result(s, rate, modelShare, modelOnly, batches, window);
        } finally {
            running.close();
        }
    }

    private static void awaitScored(RewardScorerApp scorer, long target, ProgressLine progress)
            throws InterruptedException {
        long start = System.nanoTime();
        while (scorer.metrics().scored() < target) {
            Thread.sleep(5);
            progress.update(scorer.metrics().scored());
            if (scorer.failed()) {
                throw new IllegalStateException("the scorer stopped (" + scorer.state() + ") at "
                        + scorer.metrics().scored() + "/" + target);
            }
            if (System.nanoTime() - start > Duration.ofMinutes(30).toNanos()) {
                throw new IllegalStateException("the scorer stalled at " + scorer.metrics().scored() + "/" + target);
            }
        }
    }

    /** Lends the benchmark's model to the slot without letting the slot close it. */
    private record Unclosed(RewardScorerModel delegate) implements RewardScorerModel {
        @Override
        public String name() {
            return delegate.name();
        }

        @Override
        public long version() {
            return delegate.version();
        }

        @Override
        public Optional<String> rejectReason(Rollout rollout) {
            return delegate.rejectReason(rollout);
        }

        @Override
        public float[] score(List<Rollout> batch) {
            return delegate.score(batch);
        }

        @Override
        public void close() {
            // owned by the caller of ScorerBench.run
        }
    }
}
