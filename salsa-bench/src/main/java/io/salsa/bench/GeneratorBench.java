package io.salsa.bench;

import io.salsa.events.Prompt;
import io.salsa.generator.ForwardingRolloutSampler;
import io.salsa.generator.GeneratorApp;
import io.salsa.generator.GeneratorConfig;
import io.salsa.generator.GeneratorStats;
import io.salsa.generator.ModelRolloutSampler;
import io.salsa.generator.RolloutSampler;
import io.salsa.generator.RolloutSeeds;
import io.salsa.generator.SamplerFactory;
import io.salsa.generator.SamplingParams;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Measures the generator: model-only generated tokens/s at several batch sizes, and the same work through the
 * whole service (real broker, registry serde, idempotent producer, offset commits) to find the share of wall
 * time spent outside the model.
 */
public final class GeneratorBench {

    /** One measured batch size. */
    public record Result(int batchSize, int prompts, long modelOnlyTokens, double modelOnlyTokensPerSecond,
                         long pipelineTokens, double pipelineTokensPerSecond, double modelShare,
                         double outsideModelShare, double steadyOutsideModelShare, double serdeShare,
                         double pollShare, double commitShare) { }

    private final Path modelDir;
    private final int promptLength;
    private final int maxNewTokens;
    private final BenchOptions bench;

    /** The bench of {@code modelDir}; {@code bench} gives the warm-up calls and the batches per size. */
    public GeneratorBench(Path modelDir, int promptLength, int maxNewTokens, BenchOptions bench) {
        this.modelDir = modelDir;
        this.promptLength = promptLength;
        this.maxNewTokens = maxNewTokens;
        this.bench = bench;
    }

    /**
     * Runs every batch size against {@code broker}, each on its own topics, with service state in {@code workDir};
     * prints a line per result on {@code out}.
     */
    public List<Result> run(List<Integer> batchSizes, BenchBroker broker, Path workDir, PrintStream out)
            throws Exception {
        List<Result> results = new ArrayList<>();
        int batchesPerSize = bench.measured();
        String run = "bench-" + System.currentTimeMillis();
        try (ModelRolloutSampler sampler = ModelRolloutSampler.open(modelDir, GeneratorConfig.Device.CPU)) {
            SamplingParams params = new SamplingParams(1f, 0, 1f, maxNewTokens);
            // warm-up: first calls pay for PyTorch initialisation
            for (int w = 0; w < bench.warmup(); w++) {
                sampler.sample(requests(sampler, 2, w * 2, "warm"), params);
            }
            for (int batch : batchSizes) {
                int prompts = batch * batchesPerSize;
                // model only
                long tokens = 0;
                long t0 = System.nanoTime();
                for (int b = 0; b < batchesPerSize; b++) {
                    for (RolloutSampler.Sample s : sampler.sample(requests(sampler, batch, b * batch, "m"), params)) {
                        tokens += s.responseIds().length;
                    }
                }
                double modelOnlySeconds = (System.nanoTime() - t0) / 1e9;
                // the whole service on the same prompts
                GeneratorStats stats = pipeline(broker.settings(run + "-b" + batch + "."), sampler, batch, prompts,
                        workDir);
                double wall = (stats.lastAckNanos() - stats.firstBatchStartNanos()) / 1e9;
                double modelShare = stats.modelNanos() / 1e9 / wall;
                // a running service overlaps the last acknowledgement with the next batch: up to the last send
                double steadyWall = (stats.lastBatchSentNanos() - stats.firstBatchStartNanos()) / 1e9;
                Result r = new Result(batch, prompts, tokens, tokens / modelOnlySeconds, stats.tokens(),
                        stats.tokens() / wall, modelShare, 1 - modelShare,
                        1 - stats.modelNanos() / 1e9 / steadyWall, stats.serdeNanos() / 1e9 / wall,
                        stats.pollNanos() / 1e9 / wall, stats.commitNanos() / 1e9 / wall);
                results.add(r);
                out.printf("batch %3d: model only %8.1f tokens/s | service %8.1f tokens/s, outside the model "
                                + "%5.1f%% of wall time to the last ack, %5.1f%% to the last send (loop thread: "
                                + "build+serde+send %.2f%%, poll %.2f%%, commit %.2f%%; %d prompts, %d tokens)%n", batch,
                        r.modelOnlyTokensPerSecond(), r.pipelineTokensPerSecond(), 100 * r.outsideModelShare(),
                        100 * r.steadyOutsideModelShare(), 100 * r.serdeShare(),
                        100 * r.pollShare(), 100 * r.commitShare(), prompts, r.pipelineTokens());
            }
        }
        return results;
    }

    /** The results as one table row per batch size. */
    public static ResultTable table(List<Result> results) {
        ResultTable t = new ResultTable("generator").number("batch", 5, 0).number("prompts", 7, 0)
                .number("model only tokens/s", 10, 1).number("service tokens/s", 10, 1)
                .number("outside the model to last ack", 7, 4).number("outside the model to last send", 7, 4)
                .number("build+serde+send share", 7, 4).number("poll share", 7, 4).number("commit share", 7, 4);
        for (Result r : results) {
            t.row(r.batchSize(), r.prompts(), r.modelOnlyTokensPerSecond(), r.pipelineTokensPerSecond(),
                    r.outsideModelShare(), r.steadyOutsideModelShare(), r.serdeShare(), r.pollShare(),
                    r.commitShare());
        }
        return t;
    }

    private List<RolloutSampler.Request> requests(RolloutSampler sampler, int count, int offset, String tag) {
        List<RolloutSampler.Request> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(new RolloutSampler.Request(promptIds(sampler, offset + i),
                    RolloutSeeds.derive(1, tag + (offset + i), 0, 0, 0)));
        }
        return out;
    }

    private int[] promptIds(RolloutSampler sampler, int index) {
        SplittableRandom rnd = new SplittableRandom(index);
        int[] ids = new int[promptLength];
        for (int t = 0; t < ids.length; t++) {
            ids[t] = 2 + rnd.nextInt(sampler.vocabSize() - 2);
        }
        return ids;
    }

    private GeneratorStats pipeline(KafkaSettings settings, ModelRolloutSampler sampler, int batch, int prompts,
                                    Path workDir) throws Exception {
        TopicAdmin.ensureAll(settings);
        RegistryAvroSerde<Prompt> serde = settings.valueSerde(Topics.PROMPTS);
        String topic = settings.topic(Topics.PROMPTS);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(settings.producerProps(),
                new StringSerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < prompts; i++) {
                List<Integer> ids = new ArrayList<>();
                for (int id : promptIds(sampler, i)) {
                    ids.add(id);
                }
                Prompt p = Prompt.newBuilder().setPromptId("b" + i).setText("").setTokenIds(ids)
                        .setCreatedAtMs(System.currentTimeMillis()).build();
                producer.send(new ProducerRecord<>(topic, p.getPromptId(), serde.serialize(topic, p)));
            }
            producer.flush();
        }
        Map<String, String> env = new HashMap<>();
        env.put("SALSA_GENERATOR_ID", "bench");
        env.put("SALSA_GENERATOR_STATE_DIR", workDir.resolve("state").toString());
        env.put("SALSA_GENERATOR_GROUP", "generator"); // KafkaSettings prefixes the group
        env.put("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "1");
        env.put("SALSA_GENERATOR_BATCH_SIZE", Integer.toString(batch));
        env.put("SALSA_GENERATOR_MAX_NEW_TOKENS", Integer.toString(maxNewTokens));
        env.put("SALSA_GENERATOR_MAX_STALENESS", "-1");
        env.put("SALSA_GENERATOR_INITIAL_WEIGHTS", modelDir.toString());
        GeneratorConfig config = GeneratorConfig.fromEnv(env);
        // the warmed-up model is shared; the service must not close it
        SamplerFactory shared = (dir, device) -> new Unclosed(sampler);
        GeneratorApp app = new GeneratorApp(settings, config, shared, blob -> {
            throw new IOException("the benchmark loads no policy checkpoints");
        });
        Thread thread = new Thread(() -> {
            try {
                app.run();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "bench-generator");
        thread.start();
        ProgressLine progress = bench.progress("batch " + batch + ": acknowledged", prompts, "rollouts");
        while (app.stats().rolloutsAcked() < prompts && thread.isAlive()) {
            Thread.sleep(20);
            progress.update(app.stats().rolloutsAcked());
        }
        app.close();
        thread.join();
        if (app.stats().rolloutsAcked() < prompts) {
            throw new IllegalStateException("the generator stopped after " + app.stats().rolloutsAcked() + " of "
                    + prompts + " rollouts");
        }
        return app.stats();
    }

    /** A sampler view whose close() leaves the shared model open. */
    private static final class Unclosed extends ForwardingRolloutSampler {
        Unclosed(RolloutSampler inner) {
            super(inner);
        }

        @Override
        public void close() {
        }
    }
}
