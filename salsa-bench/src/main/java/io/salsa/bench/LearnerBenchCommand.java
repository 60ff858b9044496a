package io.salsa.bench;

import io.salsa.events.BlobRef;
import io.salsa.events.Rollout;
import io.salsa.events.ScoredRollout;
import io.salsa.events.SoupManifest;
import io.salsa.events.SoupMember;
import io.salsa.events.SoupMethod;
import io.salsa.learner.LearnCommand;
import io.salsa.learner.LearnerConfig;
import io.salsa.learner.PpoLearner;
import io.salsa.learner.ppo.PpoConfig;
import io.salsa.model.lm.DeviceOptions;
import io.salsa.model.lm.Precision;
import io.salsa.runtime.blob.LocalBlobStore;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code salsa bench learner}: learner tokens/s for one PPO step (policy + value forward/backward, reference
 * forward) through the real service loop on an embedded broker, and the share of the step's wall time spent
 * outside the model (polling, Avro decoding, batching, metrics, manifest, offset commit).
 */
@Command(name = "learner", mixinStandardHelpOptions = true, modelTransformer = BenchOptions.Install.class,
        description = "Benchmark one PPO learner step (tokens/s) and the share of time outside the model.")
public final class LearnerBenchCommand extends BenchCommand {

    @Option(names = "--model", defaultValue = "small", description = "small (4 layers, 128 wide, vocab 1000: the "
            + "golden 'small' config), gpt2-124m (12 x 768, vocab 50257), a Llama-family shape with random weights "
            + "(llama-small, qwen2.5-0.5b, qwen2.5-1.5b, llama-3.2-1b, qwen2.5-7b, llama-2-7b), or a model folder of any family "
            + "(default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--batch", description = "Rollouts per step (default 32).")
    Integer batch;

    @Option(names = "--mini-batch", description = "Rollouts per optimiser step (default: the batch).")
    Integer miniBatch;

    @Option(names = "--query-len", description = "Prompt tokens (default: half the context, at most 256).")
    Integer queryLen;

    @Option(names = "--response-len", description = "Response tokens (default: as --query-len).")
    Integer responseLen;

    @Option(names = "--mixed-precision", defaultValue = "no", description = "no (float32) or fp16 (autocast-style "
            + "fp16 matmuls with dynamic loss scaling; the learner's mixed_precision setting) (default: ${DEFAULT-VALUE}).")
    String mixedPrecision;

    @Mixin
    DeviceOptions devices;

    public LearnerBenchCommand() {
        super(BenchOptions.warmup("--warmup", 1, "Unmeasured PPO steps first")
                .measured("--steps", 3, "Measured steps after the warm-up").kafka(BenchOptions.Kafka.EMBEDDED));
    }

    @Override
    public Integer call() throws Exception {
        BenchModels.Shape shape;
        try {
            shape = BenchModels.shape(model);
        } catch (java.io.IOException | IllegalArgumentException e) {
            return bench.refuse(e);
        }
        int b = batch != null ? batch : 32;
        int q = queryLen != null ? queryLen : Math.min(256, shape.positions() / 2);
        int r = responseLen != null ? responseLen : q;
        int mb = miniBatch != null ? miniBatch : b;
        if (q < 1 || r < 1 || q + r > shape.positions() || b < 1 || mb < 1 || b % mb != 0
                || bench.problem() != null) {
            return bench.refuse(String.format("need query-len, response-len >= 1 with query-len + response-len "
                    + "<= n_positions (%d), batch >= 1 divisible by mini-batch, steps >= 1, warmup >= 0",
                    shape.positions()));
        }
        Precision precision;
        try {
            precision = Precision.parse(mixedPrecision);
        } catch (IllegalArgumentException e) {
            return bench.refuse("--mixed-precision: " + e.getMessage());
        }
        // DeviceOptions has checked that the device exists and set the PyTorch threads
        ai.djl.Device device;
        try {
            device = devices.apply();
        } catch (IllegalArgumentException e) {
            return bench.refuse(e);
        }
        int warmup = bench.warmup();
        int steps = bench.measured();
        try (Scratch scratch = Scratch.create("learner")) {
            Path tmp = scratch.dir();
            Optional<BenchBroker> started = bench.brokerOrRefuse(tmp, Map.of(), System.out::println);
            if (started.isEmpty()) {
                return EXIT_BAD_INPUT;
            }
            try (BenchBroker broker = started.get()) {
                KafkaSettings kafka = broker.settings("bench-" + System.currentTimeMillis() + ".");
                TopicAdmin.ensureTopics(kafka, List.of(Topics.SCORED_ROLLOUTS, Topics.SOUP));
                ModelFolderStore store = new ModelFolderStore(new LocalBlobStore(tmp.resolve("blobs")),
                        tmp.resolve("cache"));
                Path folder = BenchModels.folder(model, tmp);
                BlobRef soup = store.putFolder(folder, "bench/soup");
                writeSoupAndRollouts(kafka, soup, shape.vocab(), b * (warmup + steps), q, r);
                LearnerConfig lc = LearnerConfig.builder("bench", "bench")
                        .ppo(PpoConfig.builder().batchSize(b).miniBatchSize(mb).ppoEpochs(1).maxStaleness(1000)
                                .mixedPrecision(precision).build())
                        .saveSteps(1_000_000).metricsPort(-1).device(device).build();
                System.out.printf("model %s (%s, %d layers, %d wide, vocab %d), batch %d x (%d + %d) tokens, mini-batch %d, "
                        + "device %s, mixed precision %s%n", model, shape.modelType(), shape.layers(), shape.hidden(),
                        shape.vocab(), b,
                        q, r, mb, LearnerConfig.deviceName(device), precision.label());
                ResultTable table = new ResultTable("learner").number("step", 5, 0).number("wall seconds", 8, 3)
                        .number("PPO step seconds", 8, 3);
                try (PpoLearner learner = PpoLearner.start(lc, kafka, store, LearnCommand.trainerFactory(), () -> false)) {
                    List<double[]> measured = bench.repeat((counted, n, of) -> {
                        long step = counted ? warmup + n : n;
                        learner.runUntil(step, () -> false);
                        double[] t = learner.lastStepSeconds().clone();
                        if (counted) {
                            System.out.printf("step %d: %.3f s wall, %.3f s in the PPO step%n", step, t[0], t[1]);
                            table.row(step, t[0], t[1]);
                        }
                        return t;
                    });
                    double wall = measured.stream().mapToDouble(t -> t[0]).sum();
                    double train = measured.stream().mapToDouble(t -> t[1]).sum();
                    long tokens = (long) b * (q + r) * steps;
                    System.out.printf("learner: %.0f tokens/s in the PPO step (policy+value fwd/bwd, reference fwd), "
                            + "%.0f tokens/s end to end; %.2f%% of step time outside the model%n",
                            tokens / train, tokens / wall, 100 * (wall - train) / wall);
                }
                bench.save(table, System.out);
            }
        }
        return 0;
    }

    private static void writeSoupAndRollouts(KafkaSettings kafka, BlobRef soup, int vocab, int n, int q, int r)
            throws Exception {
        SplittableRandom random = new SplittableRandom(1);
        String soupTopic = kafka.topic(Topics.SOUP);
        String topic = kafka.topic(Topics.SCORED_ROLLOUTS);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(kafka.producerProps(), new StringSerializer(),
                new ByteArraySerializer())) {
            SoupManifest m = new SoupManifest("bench", 1L, "bench", SoupMethod.UNIFORM,
                    List.of(new SoupMember("bench", soup, 1.0)), soup, System.currentTimeMillis());
            p.send(new ProducerRecord<>(soupTopic, "bench", kafka.valueSerde(Topics.SOUP).serialize(soupTopic, m))).get();
            float logp = (float) -Math.log(vocab);
            for (int i = 0; i < n; i++) {
                List<Integer> prompt = new ArrayList<>(q);
                List<Integer> response = new ArrayList<>(r);
                List<Float> lps = new ArrayList<>(r);
                for (int t = 0; t < q; t++) {
                    prompt.add(2 + random.nextInt(vocab - 2));
                }
                for (int t = 0; t < r; t++) {
                    response.add(2 + random.nextInt(vocab - 2));
                    lps.add(logp);
                }
                Rollout ro = Rollout.newBuilder().setRolloutId("b" + i).setPromptId("p" + i).setPromptTokenIds(prompt)
                        .setResponseTokenIds(response).setBehaviourLogProbs(lps).setStoppedAtEos(false)
                        .setPolicyRunId("bench").setPolicyVersion(0).setGeneratorId("bench").setSampleIndex(0)
                        .setSeed(i).setTemperature(1f).setTopK(0).setTopP(1f).setGenerationMs(0)
                        .setCreatedAtMs(System.currentTimeMillis()).build();
                ScoredRollout s = new ScoredRollout(ro, (float) random.nextDouble(), 0f, "bench", 1L, "bench", 0L);
                p.send(new ProducerRecord<>(topic, "p" + i, kafka.valueSerde(Topics.SCORED_ROLLOUTS)
                        .serialize(topic, s)));
            }
            p.flush();
        }
    }
}
