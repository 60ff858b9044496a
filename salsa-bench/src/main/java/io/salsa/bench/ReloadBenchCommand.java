package io.salsa.bench;

import ai.djl.Device;
import io.salsa.bench.LearnerBenchCommand.Mode;
import io.salsa.events.BlobRef;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.events.PolicyKind;
import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.salsa.generator.BlobWeightFetcher;
import io.salsa.generator.GeneratorApp;
import io.salsa.generator.GeneratorConfig;
import io.salsa.generator.ModelRolloutSampler;
import io.salsa.learner.LmPolicyTrainer;
import io.salsa.learner.ppo.LoraSettings;
import io.salsa.learner.ppo.PpoConfig;
import io.salsa.learner.ppo.TrainingSample;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.ModelFolder;
import io.salsa.runtime.blob.LocalBlobStore;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.io.FileOps;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code salsa bench reload}: how long a new policy takes to reach the rollouts, LoRA against full fine-tuning, over
 * the real path: the learner's {@link LmPolicyTrainer} writes its policy folder, the folder goes to the blob store
 * and a {@code PolicyCheckpoint} to the policy topic (an embedded broker unless {@code --bootstrap}), and one
 * {@link GeneratorApp}, kept busy with prompts, consumes it, loads or swaps the weights and stamps its next rollouts
 * with the new version. Per checkpoint: its blob's size, the time to write it, publish → the generator's switch, and
 * publish → the first rollout with the new version ({@code createdAtMs}, taken when its batch has been generated).
 */
@Command(name = "reload", mixinStandardHelpOptions = true, modelTransformer = BenchOptions.Install.class,
        description = "Benchmark publish -> first rollout with the new weights and the checkpoint size, LoRA "
                + "adapter-only checkpoints against full ones, through the generator service.")
public final class ReloadBenchCommand extends BenchCommand {

    private static final Duration TIMEOUT = Duration.ofMinutes(10);

    @Option(names = "--model", defaultValue = "small", description = "small, gpt2-124m, a Llama-family shape with "
            + "random weights (qwen2.5-0.5b, ...), or a model folder of any family (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--lora", description = "The LoRA mode's adapter: r=N,alpha=A,targets=M1,M2 (default: r=16,alpha=32 "
            + "on c_attn for GPT-2, q_proj,v_proj for the Llama family).")
    String lora;

    @Option(names = "--batch", defaultValue = "4", description = "The generator's batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--prompt-tokens", defaultValue = "16", description = "Prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--max-new-tokens", defaultValue = "16", description = "Response length limit (default: "
            + "${DEFAULT-VALUE}).")
    int maxNewTokens;

    public ReloadBenchCommand() {
        super(BenchOptions.warmup("--warmup", 1, "Unmeasured checkpoints per mode first (LoRA's first one also loads "
                + "the base into the generator)").measured("--versions", 3, "Measured checkpoints per mode")
                .kafka(BenchOptions.Kafka.EMBEDDED));
    }

    /** One mode's checkpoint: blob bytes, seconds to write and announce it, to the switch, to the first rollout. */
    record Reload(String mode, long version, boolean counted, long bytes, double writeSeconds, double switchSeconds,
            double firstRolloutSeconds) { }

    @Override
    public Integer call() throws Exception {
        BenchModels.Shape shape;
        LoraSettings adapter;
        try {
            shape = BenchModels.shape(model);
            if (batch < 1 || promptTokens < 1 || maxNewTokens < 1 || bench.problem() != null
                    || promptTokens + maxNewTokens > shape.positions()) {
                throw new IllegalArgumentException(String.format("need --batch, --prompt-tokens, --max-new-tokens >= 1 "
                        + "with --prompt-tokens + --max-new-tokens <= n_positions (%d), --versions >= 1, --warmup >= 0",
                        shape.positions()));
            }
            adapter = LoraSettings.fromSpec(lora != null ? lora : "r=16,alpha=32,targets="
                    + (CausalLms.GPT2_TYPES.contains(shape.modelType()) ? "c_attn" : "q_proj,v_proj"));
        } catch (IOException | IllegalArgumentException e) {
            return bench.refuse(e);
        }
        List<Mode> modes = List.of(new Mode("lora", adapter), new Mode("full", LoraSettings.off()));
        System.out.printf(Locale.ROOT, "model %s (%s, %d layers, %d wide, vocab %d); generator batch %d, prompt %d, up "
                + "to %d new tokens; %d warm-up + %d measured checkpoints per mode; PyTorch threads %s%n", model,
                shape.modelType(), shape.layers(), shape.hidden(), shape.vocab(), batch, promptTokens, maxNewTokens,
                bench.warmup(), bench.measured(), System.getProperty("ai.djl.pytorch.num_threads", "default"));
        try (Scratch scratch = Scratch.create("reload")) {
            Path tmp = scratch.dir();
            Optional<BenchBroker> started = bench.brokerOrRefuse(tmp, Map.of(), System.out::println);
            if (started.isEmpty()) {
                return EXIT_BAD_INPUT;
            }
            try (BenchBroker broker = started.get()) {
                ModelFolderStore store = new ModelFolderStore(new LocalBlobStore(tmp.resolve("blobs")),
                        tmp.resolve("cache"));
                Path base = BenchModels.folder(model, tmp);
                BlobRef baseRef = store.putFolder(base, "bench/soup");
                String prefix = "bench-" + System.currentTimeMillis();
                ResultTable table = new ResultTable("reload").text("mode", 6).number("version", 7, 0)
                        .number("checkpoint bytes", 14, 0).number("write+announce s", 9, 3)
                        .number("publish to switch s", 9, 3).number("publish to first rollout s", 9, 3);
                List<Reload> all = new ArrayList<>();
                for (Mode mode : modes) {
                    try {
                        all.addAll(measure(mode, broker.settings(prefix + "-" + mode.name() + "."), store, base,
                                baseRef, tmp));
                    } catch (IllegalArgumentException e) {
                        return bench.refuse(e); // e.g. a target module the model does not have
                    }
                }
                for (Reload r : all) {
                    if (r.counted()) {
                        table.row(r.mode(), r.version(), r.bytes(), r.writeSeconds(), r.switchSeconds(),
                                r.firstRolloutSeconds());
                    }
                }
                for (Mode mode : modes) {
                    List<Reload> mine = all.stream().filter(r -> r.counted() && r.mode().equals(mode.name())).toList();
                    System.out.printf(Locale.ROOT, "reload %s: checkpoint %,d bytes; median publish -> switch %.3f s, "
                            + "publish -> first rollout %.3f s (write+announce %.3f s) over %d checkpoints%n",
                            mode.name(), mine.get(mine.size() - 1).bytes(),
                            median(mine.stream().mapToDouble(Reload::switchSeconds).toArray()),
                            median(mine.stream().mapToDouble(Reload::firstRolloutSeconds).toArray()),
                            median(mine.stream().mapToDouble(Reload::writeSeconds).toArray()), mine.size());
                }
                bench.save(table, System.out);
            }
        }
        return 0;
    }

    private List<Reload> measure(Mode mode, KafkaSettings kafka, ModelFolderStore store, Path base, BlobRef baseRef,
            Path tmp) throws Exception {
        TopicAdmin.ensureAll(kafka);
        String run = "bench-" + mode.name();
        Map<String, String> env = new HashMap<>();
        env.put("SALSA_GENERATOR_ID", "bench-" + mode.name());
        env.put("SALSA_GENERATOR_STATE_DIR", tmp.resolve("state-" + mode.name()).toString());
        env.put("SALSA_GENERATOR_GROUP", "generator");
        env.put("SALSA_GENERATOR_SAMPLES_PER_PROMPT", "1");
        env.put("SALSA_GENERATOR_BATCH_SIZE", Integer.toString(batch));
        env.put("SALSA_GENERATOR_MAX_NEW_TOKENS", Integer.toString(maxNewTokens));
        env.put("SALSA_GENERATOR_MAX_STALENESS", "-1");
        env.put("SALSA_GENERATOR_POLICY_RUN_ID", run);
        env.put("SALSA_GENERATOR_INITIAL_WEIGHTS", base.toString());
        GeneratorConfig config = GeneratorConfig.fromEnv(env);
        // batch 1 of short sequences: a step only has to change the weights, so every checkpoint is new content
        PpoConfig ppo = PpoConfig.builder().batchSize(1).miniBatchSize(1).ppoEpochs(1).lora(mode.lora()).build();
        List<Reload> out = new ArrayList<>();
        GeneratorApp app = new GeneratorApp(kafka, config, ModelRolloutSampler.factory(),
                new BlobWeightFetcher(store.blobStore(), tmp.resolve("weights-" + mode.name())));
        try (LmPolicyTrainer trainer = LmPolicyTrainer.open(ppo, base, base, Device.cpu());
             KafkaProducer<String, byte[]> producer = new KafkaProducer<>(kafka.producerProps(),
                     new StringSerializer(), new ByteArraySerializer());
             KafkaConsumer<String, byte[]> rollouts = new KafkaConsumer<>(kafka.groupLessConsumerProps(),
                     new StringDeserializer(), new ByteArrayDeserializer())) {
            String rolloutTopic = kafka.topic(Topics.ROLLOUTS);
            rollouts.assign(rollouts.partitionsFor(rolloutTopic).stream()
                    .map(p -> new TopicPartition(rolloutTopic, p.partition())).toList());
            rollouts.seekToBeginning(rollouts.assignment());
            AtomicBoolean stop = new AtomicBoolean();
            Thread generator = new Thread(() -> {
                try {
                    app.run();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, "bench-generator");
            Thread feeder = new Thread(() -> feedPrompts(kafka, app, trainer.vocabSize(), stop), "bench-prompts");
            generator.start();
            feeder.start();
            try {
                awaitRollout(rollouts, kafka, 0, generator); // the generator is up and sampling its initial weights
                int versions = bench.warmup() + bench.measured();
                for (int v = 1; v <= versions; v++) {
                    trainer.step(List.of(sample(trainer.vocabSize(), v)), 0.05, v);
                    long t0 = System.nanoTime();
                    long t0Ms = System.currentTimeMillis();
                    BlobRef ref = publish(trainer, mode, store, producer, kafka, run, v, base, baseRef);
                    double write = (System.nanoTime() - t0) / 1e9;
                    long deadline = System.nanoTime() + TIMEOUT.toNanos();
                    while (app.policyVersion() < v) {
                        if (!generator.isAlive() || System.nanoTime() > deadline) {
                            throw new IllegalStateException("the generator did not switch to " + mode.name()
                                    + " checkpoint v" + v + " (skipped checkpoints: " + app.skippedCheckpoints() + ")");
                        }
                        Thread.sleep(1);
                    }
                    double switched = (System.nanoTime() - t0) / 1e9;
                    long firstMs = awaitRollout(rollouts, kafka, v, generator);
                    Reload r = new Reload(mode.name(), v, v > bench.warmup(), ref.getSizeBytes(), write, switched,
                            (firstMs - t0Ms) / 1e3);
                    out.add(r);
                    System.out.printf(Locale.ROOT, "%s v%d%s: %,d bytes, write+announce %.3f s, publish -> switch "
                            + "%.3f s, publish -> first rollout %.3f s%n", mode.name(), v, r.counted() ? ""
                            : " (warm-up)", r.bytes(), r.writeSeconds(), r.switchSeconds(), r.firstRolloutSeconds());
                }
            } finally {
                stop.set(true);
                app.close();
                feeder.join();
                generator.join();
            }
        }
        return out;
    }

    /**
     * Writes policy version {@code v} as the learner does (its policy folder with the run's tokenizer, into the blob
     * store) and announces it on the policy topic; a LoRA checkpoint names {@code baseRef} as its base.
     */
    private static BlobRef publish(LmPolicyTrainer trainer, Mode mode, ModelFolderStore store,
            KafkaProducer<String, byte[]> producer, KafkaSettings kafka, String run, long v, Path base, BlobRef baseRef)
            throws Exception {
        Path dir = Files.createTempDirectory("salsa-reload-");
        try {
            Path policy = dir.resolve("policy");
            trainer.savePolicy(policy);
            ModelFolder.copyTokenizer(base, policy);
            BlobRef ref = store.putFolder(policy, "runs/" + run + "/policy-v" + v);
            boolean adapter = mode.lora().enabled();
            PolicyCheckpoint cp = PolicyCheckpoint.newBuilder().setRunId(run).setVersion(v).setStep(v).setBlob(ref)
                    .setSoupRecipe("bench").setSoupVersion(1).setInitFrom("soup:bench@1")
                    .setCreatedAtMs(System.currentTimeMillis())
                    .setKind(adapter ? PolicyKind.LORA_ADAPTER : PolicyKind.FULL).setBase(adapter ? baseRef : null)
                    .build();
            String topic = kafka.topic(Topics.POLICY);
            producer.send(new ProducerRecord<>(topic, run, kafka.valueSerde(Topics.POLICY).serialize(topic, cp))).get();
            return ref;
        } finally {
            FileOps.deleteTree(dir);
        }
    }

    /** Reads rollouts until one stamped with {@code version}; returns its {@code createdAtMs}. */
    private static long awaitRollout(KafkaConsumer<String, byte[]> consumer, KafkaSettings kafka, long version,
            Thread generator) {
        String topic = kafka.topic(Topics.ROLLOUTS);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline && generator.isAlive()) {
            for (ConsumerRecord<String, byte[]> rec : consumer.poll(Duration.ofMillis(20))) {
                Rollout r = kafka.valueSerde(Topics.ROLLOUTS).deserialize(topic, rec.value());
                if (r.getPolicyVersion() == version) {
                    return r.getCreatedAtMs();
                }
            }
        }
        throw new IllegalStateException("no rollout of policy version " + version + " within " + TIMEOUT);
    }

    /** Keeps about two batches of prompts ahead of the generator until {@code stop}, so it never waits for work. */
    private void feedPrompts(KafkaSettings kafka, GeneratorApp app, int vocab, AtomicBoolean stop) {
        String topic = kafka.topic(Topics.PROMPTS);
        SplittableRandom random = new SplittableRandom(1);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(kafka.producerProps(), new StringSerializer(),
                new ByteArraySerializer())) {
            long sent = 0;
            while (!stop.get()) {
                if (sent - app.stats().rolloutsAcked() >= 2L * batch) {
                    Thread.sleep(5);
                    continue;
                }
                for (int i = 0; i < batch; i++, sent++) {
                    List<Integer> ids = new ArrayList<>(promptTokens);
                    for (int t = 0; t < promptTokens; t++) {
                        ids.add(2 + random.nextInt(vocab - 2));
                    }
                    Prompt p = Prompt.newBuilder().setPromptId("p" + sent).setText("").setTokenIds(ids)
                            .setCreatedAtMs(System.currentTimeMillis()).build();
                    producer.send(new ProducerRecord<>(topic, p.getPromptId(),
                            kafka.valueSerde(Topics.PROMPTS).serialize(topic, p)));
                }
                producer.flush();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A one-rollout PPO batch of random tokens, different per version. */
    private TrainingSample sample(int vocab, long v) {
        SplittableRandom random = new SplittableRandom(v);
        int[] prompt = random.ints(promptTokens, 2, vocab).toArray();
        int[] response = random.ints(maxNewTokens, 2, vocab).toArray();
        float[] logps = new float[maxNewTokens];
        java.util.Arrays.fill(logps, (float) -Math.log(vocab));
        return new TrainingSample(prompt, response, logps, false, (float) random.nextDouble(), null, null);
    }

    private static double median(double[] values) {
        double[] s = values.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
