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
import io.salsa.learner.ppo.LoraSettings;
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
 * forward) through the real service loop on an embedded broker, the share of the step's wall time spent outside the
 * model (polling, Avro decoding, batching, metrics, manifest, offset commit) and the peak memory (resident = heap +
 * native) from the learner's start to its last measured step; with {@code --lora} the same for LoRA mode first
 * (policy = base + adapter, reference = the base with the adapter off), so the two compare on one machine and load.
 */
@Command(name = "learner", mixinStandardHelpOptions = true, modelTransformer = BenchOptions.Install.class,
        description = "Benchmark one PPO learner step (tokens/s, peak memory) and the share of time outside the model; "
                + "with --lora, LoRA against full fine-tuning.")
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

    @Option(names = "--lora", description = "Also measure LoRA mode: r=N,alpha=A,targets=M1,M2[,dropout=P] (PEFT's "
            + "module names, as sft train --lora); the LoRA run goes first, then full fine-tuning, each on a learner "
            + "of its own with its own peak memory.")
    String lora;

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
        List<Mode> modes = new ArrayList<>();
        if (lora != null) {
            try {
                modes.add(new Mode("lora", LoraSettings.fromSpec(lora)));
            } catch (IllegalArgumentException e) {
                return bench.refuse(e);
            }
        }
        modes.add(new Mode("full", LoraSettings.off()));
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
                String prefix = "bench-" + System.currentTimeMillis();
                ModelFolderStore store = new ModelFolderStore(new LocalBlobStore(tmp.resolve("blobs")),
                        tmp.resolve("cache"));
                Path folder = BenchModels.folder(model, tmp);
                BlobRef soup = store.putFolder(folder, "bench/soup");
                System.out.printf("model %s (%s, %d layers, %d wide, vocab %d), batch %d x (%d + %d) tokens, mini-batch %d, "
                        + "device %s, mixed precision %s%n", model, shape.modelType(), shape.layers(), shape.hidden(),
                        shape.vocab(), b,
                        q, r, mb, LearnerConfig.deviceName(device), precision.label());
                ResultTable table = new ResultTable("learner").text("mode", 6).text("lora", 28)
                        .number("PPO tokens/s", 12, 1).number("end-to-end tokens/s", 12, 1)
                        .number("outside model %", 8, 2).number("peak RSS MB", 12, 0).number("heap MB", 9, 0)
                        .number("native MB", 10, 0);
                PeakMemory memory = new PeakMemory();
                for (Mode mode : modes) {
                    String runId = "bench-" + mode.name();
                    // topics of its own per mode: a learner reads no other mode's rollouts
                    KafkaSettings kafka = broker.settings(prefix + "-" + mode.name() + ".");
                    TopicAdmin.ensureTopics(kafka, List.of(Topics.SCORED_ROLLOUTS, Topics.SOUP));
                    writeSoup(kafka, soup);
                    writeRollouts(kafka, runId, shape.vocab(), b * (warmup + steps), q, r);
                    LearnerConfig lc = LearnerConfig.builder(runId, "bench")
                            .ppo(PpoConfig.builder().batchSize(b).miniBatchSize(mb).ppoEpochs(1).maxStaleness(1000)
                                    .mixedPrecision(precision).lora(mode.lora()).build())
                            .saveSteps(1_000_000).metricsPort(-1).device(device).build();
                    String label = modes.size() > 1 ? mode.name() + " " : "";
                    System.gc(); // the previous mode's heap is garbage: let the heap peak start low
                    memory.reset();
                    PpoLearner opened;
                    try {
                        opened = PpoLearner.start(lc, kafka, store, LearnCommand.trainerFactory(), () -> false);
                    } catch (IllegalArgumentException e) {
                        return bench.refuse(e); // e.g. a LoRA target the model does not have, named with its modules
                    }
                    try (PpoLearner learner = opened) {
                        List<double[]> measured = bench.repeat((counted, n, of) -> {
                            long step = counted ? warmup + n : n;
                            learner.runUntil(step, () -> false);
                            double[] t = learner.lastStepSeconds().clone();
                            if (counted) {
                                System.out.printf("%sstep %d: %.3f s wall, %.3f s in the PPO step%n", label, step,
                                        t[0], t[1]);
                            }
                            return t;
                        });
                        PeakMemory.Peak peak = memory.peak();
                        double wall = measured.stream().mapToDouble(t -> t[0]).sum();
                        double train = measured.stream().mapToDouble(t -> t[1]).sum();
                        long tokens = (long) b * (q + r) * steps;
                        System.out.printf(java.util.Locale.ROOT, "learner%s: %.0f tokens/s in the PPO step (policy+value "
                                + "fwd/bwd, reference fwd), %.0f tokens/s end to end; %.2f%% of step time outside the "
                                + "model; peak resident %.0f MB = heap %.0f MB + native %.0f MB%s%n",
                                modes.size() > 1 ? " " + mode.name() : "", tokens / train, tokens / wall,
                                100 * (wall - train) / wall, PeakMemory.mb(peak.residentBytes()),
                                PeakMemory.mb(peak.heapBytes()), PeakMemory.mb(peak.nativeBytes()),
                                peak.sinceStart() ? " (since the process started)" : "");
                        table.row(mode.name(), mode.lora().enabled() ? mode.describe() : "-", tokens / train,
                                tokens / wall, 100 * (wall - train) / wall, PeakMemory.mb(peak.residentBytes()),
                                PeakMemory.mb(peak.heapBytes()), PeakMemory.mb(peak.nativeBytes()));
                    }
                }
                bench.save(table, System.out);
            }
        }
        return 0;
    }

    /** One measured learner (or checkpoint stream): full fine-tuning or LoRA with the given settings. */
    record Mode(String name, LoraSettings lora) {
        String describe() {
            return String.format(java.util.Locale.ROOT, "r=%d,alpha=%s,targets=%s,dropout=%s", lora.r(),
                    lora.alpha(), lora.targetsSetting(), lora.dropout());
        }
    }

    private static void writeSoup(KafkaSettings kafka, BlobRef soup) throws Exception {
        String soupTopic = kafka.topic(Topics.SOUP);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(kafka.producerProps(), new StringSerializer(),
                new ByteArraySerializer())) {
            SoupManifest m = new SoupManifest("bench", 1L, "bench", SoupMethod.UNIFORM,
                    List.of(new SoupMember("bench", soup, 1.0)), soup, System.currentTimeMillis());
            p.send(new ProducerRecord<>(soupTopic, "bench", kafka.valueSerde(Topics.SOUP).serialize(soupTopic, m))).get();
        }
    }

    /** {@code n} scored rollouts of random tokens stamped with run {@code runId} (another run's would be stale). */
    private static void writeRollouts(KafkaSettings kafka, String runId, int vocab, int n, int q, int r)
            throws Exception {
        SplittableRandom random = new SplittableRandom(1);
        String topic = kafka.topic(Topics.SCORED_ROLLOUTS);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(kafka.producerProps(), new StringSerializer(),
                new ByteArraySerializer())) {
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
                Rollout ro = Rollout.newBuilder().setRolloutId(runId + i).setPromptId("p" + i).setPromptTokenIds(prompt)
                        .setResponseTokenIds(response).setBehaviourLogProbs(lps).setStoppedAtEos(false)
                        .setPolicyRunId(runId).setPolicyVersion(0).setGeneratorId("bench").setSampleIndex(0)
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
