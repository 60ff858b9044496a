package io.salsa.bench;

import ai.djl.Device;
import io.salsa.model.generate.Generator;
import io.salsa.model.generate.SamplingConfig;
import io.salsa.learner.LmPolicyTrainer;
import io.salsa.learner.ppo.PpoConfig;
import io.salsa.learner.ppo.TrainingSample;
import io.salsa.scorer.LmRewardScorerModel;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.DeviceOptions;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.Precision;
import io.salsa.model.train.AdamW;
import io.salsa.model.train.Gradients;
import io.salsa.model.train.SftBatch;
import io.salsa.model.train.SftData;
import io.salsa.model.train.SftTrainer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code salsa bench model}: generation tokens/s with and without the KV cache, and SFT training tokens/s,
 * for a model shape (default: the golden {@code small} config), so performance is measured, not assumed.
 */
@Command(name = "model", mixinStandardHelpOptions = true, modelTransformer = BenchOptions.Install.class,
        description = "Benchmark a model: tokens/s and peak memory (heap + native) of generation (KV cache; GPT-2 also "
                + "without), an SFT step, the LM forward, reward scoring and one PPO step.")
public final class ModelBenchCommand extends BenchCommand {

    /** The golden {@code small} shape, used when no config is given or found. */
    static final GptConfig SMALL = GptConfig.of(4, 4, 128, 1000, 128, 0, 1);

    @Option(names = "--config", paramLabel = "DIR|FILE",
            description = "config.json (or model folder) giving the shape; default: shared/golden/small if found, else the same built-in shape (4 layers, 128 wide, 4 heads, vocab 1000).")
    Path config;

    @Option(names = "--model", paramLabel = "DIR|NAME",
            description = "A Hugging Face model folder (gpt2, llama, mistral, qwen2, gemma) or a named shape with random weights: "
                    + "small, gpt2-124m, llama-small (27 M, salsa doctor's), qwen2.5-0.5b, qwen2.5-1.5b, llama-3.2-1b, qwen2.5-7b, llama-2-7b. "
                    + "Instead of --config.")
    String model;

    @Option(names = "--batch", defaultValue = "8", description = "Sequences per batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--new-tokens", defaultValue = "64", description = "Tokens generated per sequence (default: ${DEFAULT-VALUE}).")
    int newTokens;

    @Option(names = "--prompt-length", defaultValue = "16", description = "Prompt tokens per sequence (default: ${DEFAULT-VALUE}).")
    int promptLength;

    @Option(names = "--train-steps", defaultValue = "5", description = "Timed SFT steps per repetition (default: ${DEFAULT-VALUE}).")
    int trainSteps;

    @Option(names = {"--precision", "--mixed-precision"}, defaultValue = "no", paramLabel = "no|fp16",
            description = "Forward precision of generation, the LM forward, reward scoring and the PPO step (its "
                    + "mixed_precision): no (float32) or fp16 (autocast: fp16 matmuls, float32 norms, softmax and "
                    + "outputs); the SFT step stays float32 (SFT has no loss scaler). On a CPU fp16 is slow: no native "
                    + "fp16 GEMM (default: ${DEFAULT-VALUE}).")
    String precisionName;

    @Mixin
    DeviceOptions deviceOptions = new DeviceOptions();

    private Precision precision = Precision.FP32;

    public ModelBenchCommand() {
        super(BenchOptions.warmup("--warmup", 1, "Untimed runs of each measurement before the timed ones")
                .measured("--repeats", 3, "Timed repetitions after the warm-up; the best is reported"));
    }

    @Override
    public Integer call() throws Exception {
        try {
            if (batch < 1 || newTokens < 1 || promptLength < 1 || trainSteps < 1) {
                throw new IllegalArgumentException("--batch, --new-tokens, --prompt-length and --train-steps must be >= 1");
            }
            if (bench.problem() != null) {
                throw new IllegalArgumentException(bench.problem());
            }
            if (model != null && config != null) {
                throw new IllegalArgumentException("--model and --config exclude each other");
            }
            try {
                precision = Precision.parse(precisionName);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--precision: " + e.getMessage(), e);
            }
            Device dev = deviceOptions.apply();
            try (Scratch scratch = Scratch.create("model")) {
                Path folder;
                String header;
                if (model != null) {
                    folder = BenchModels.folder(model, scratch.dir());
                    header = model + (BenchModels.named(model) ? " (random weights)" : "");
                } else {
                    GptConfig cfg = shape();
                    folder = scratch.resolve("config");
                    try (GptModel gpt = GptModel.random(cfg, GptModel.Head.NONE, 1, Device.cpu())) {
                        gpt.save(folder);
                    }
                    header = null;
                }
                ResultTable table = run(folder, dev, header);
                table.print(System.out);
                System.out.printf(Locale.ROOT, "peak memory (whole run): resident %.0f MB = heap %.0f MB + native %.0f MB "
                        + "(the largest measurement's peak; heap = JVM heap used, native = resident - heap)%n",
                        mb(wholeRun.residentBytes()), mb(wholeRun.heapBytes()), mb(wholeRun.nativeBytes()));
                bench.save(table, System.out);
            }
            return 0;
        } catch (IOException | IllegalArgumentException e) {
            return bench.refuse(e);
        }
    }

    private GptConfig shape() throws IOException {
        if (config != null) {
            return GptConfig.load(config);
        }
        Path golden = GoldenSmall.find("config.json");
        return golden != null ? GptConfig.load(golden) : SMALL;
    }

    private final PeakMemory memory = new PeakMemory();
    private PeakMemory.Peak wholeRun = new PeakMemory.Peak(0, 0, false);

    /**
     * The measurements of the model in {@code folder}, each on its own freshly loaded model(s) so that each row's
     * peak memory is its own: generation, the SFT step and the LM forward on the plain LM; reward scoring on a
     * {@link GptModel.Head#SCORE} model of the same shape (the reward scorer's own {@link LmRewardScorerModel});
     * one PPO step through the learner's {@link LmPolicyTrainer} (policy + value head, soup reference = the same
     * folder). {@code header} null prints the GPT-2 shape line of {@code --config}.
     */
    ResultTable run(Path folder, Device dev, String header) throws Exception {
        ResultTable rows = new ResultTable("model").text("measurement", 34).number("tokens/s", 12, 1)
                .number("sequences/s", 12, 2).number("seconds", 10, 3).number("peak RSS MB", 12, 0)
                .number("heap MB", 9, 0).number("native MB", 10, 0);
        SplittableRandom rng = new SplittableRandom(7);
        List<int[]> prompts = new ArrayList<>();
        List<int[]> responses = new ArrayList<>();
        List<SftData.Sequence> seqs = new ArrayList<>();

        memory.reset();
        long loadStart = System.nanoTime();
        // generation on a frozen model, as the rollout generator loads it (float16 weights at --precision fp16)
        try (CausalLm lm = CausalLms.loadFrozen(folder, GptModel.Head.NONE, dev, precision)) {
            double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
            if (promptLength + newTokens > lm.maxPositions()) {
                throw new IllegalArgumentException("--prompt-length + --new-tokens = " + (promptLength + newTokens)
                        + " exceeds the model's " + lm.maxPositions() + " positions");
            }
            for (int b = 0; b < batch; b++) {
                prompts.add(rng.ints(promptLength, 2, lm.vocabSize()).toArray());
                responses.add(rng.ints(newTokens, 2, lm.vocabSize()).toArray());
                int[] joined = new int[promptLength + newTokens];
                System.arraycopy(prompts.get(b), 0, joined, 0, promptLength);
                System.arraycopy(responses.get(b), 0, joined, promptLength, newTokens);
                seqs.add(new SftData.Sequence(joined, promptLength));
            }
            if (header == null && lm instanceof GptModel gpt) {
                GptConfig cfg = gpt.config();
                System.out.printf(Locale.ROOT, "GPT-2 %d layers × %d wide, %d heads, vocab %d; batch %d, prompt %d, "
                                + "%d new tokens; device %s, %d thread(s), precision %s, best of %d%n",
                        cfg.nLayer(), cfg.nEmbd(), cfg.nHead(), cfg.vocabSize(), batch, promptLength, newTokens, dev,
                        deviceOptions.threads(), precisionLine(), bench.measured());
            } else {
                System.out.printf(Locale.ROOT, "%s %s: %d layers × %d wide, vocab %d, %,d parameters (loaded in %.1f s); "
                                + "batch %d, prompt %d, %d new tokens; device %s, %d thread(s), precision %s, best of %d%n",
                        lm.modelType(), header, lm.numLayers(), lm.hiddenSize(), lm.vocabSize(), lm.parameterCount(),
                        loadSeconds, batch, promptLength, newTokens, dev, deviceOptions.threads(), precisionLine(),
                        bench.measured());
            }
            double generated = (double) batch * newTokens;
            Generator gen = new Generator(lm);
            SamplingConfig sampling = SamplingConfig.sampling(newTokens).withStopAtEos(false);
            row(rows, "generate, KV cache (sampling)", generated, bench.bestSeconds(() -> gen.generate(prompts, sampling, 1)));
            if (lm instanceof GptModel) {
                memory.reset();
                row(rows, "generate, no cache (sampling)", generated,
                        bench.bestSeconds(() -> gen.generate(prompts, sampling.withCache(false), 1)));
            }
        }

        memory.reset();
        try (CausalLm lm = CausalLms.load(folder, GptModel.Head.NONE, dev)) {
            SftBatch padded = SftBatch.of(seqs, lm.padTokenId());
            lm.setTrainable(true);
            try (AdamW opt = AdamW.withDefaults(lm.parameters(), 0.0)) {
                double secs = bench.bestSeconds(() -> {
                    for (int s = 0; s < trainSteps; s++) {
                        SftTrainer.trainStep(lm, padded);
                        Gradients.clipGlobalNorm(lm.parameters().values(), 1.0);
                        opt.step(1e-4);
                        Gradients.zero(lm.parameters().values());
                    }
                });
                row(rows, "SFT train step (fwd+bwd+AdamW)", (double) padded.tokens() * trainSteps,
                        (double) batch * trainSteps, secs);
            }
            lm.setTrainable(false);
            lm.setPrecision(precision);
            memory.reset();
            row(rows, "forward only (LM loss)", (double) padded.tokens() * trainSteps, (double) batch * trainSteps,
                    bench.bestSeconds(() -> {
                        for (int s = 0; s < trainSteps; s++) {
                            SftTrainer.evalLoss(lm, seqs, batch);
                        }
                    }));
        }

        memory.reset();
        // frozen, as the reward scorer loads it (float16 weights at --precision fp16)
        try (LmRewardScorerModel scorer = LmRewardScorerModel.load(folder, "bench", 1, dev, precision)) {
            row(rows, "reward scoring (score head)", (double) batch * (promptLength + newTokens) * trainSteps, (double) batch * trainSteps,
                    bench.bestSeconds(() -> {
                        for (int s = 0; s < trainSteps; s++) {
                            scorer.score(prompts, responses);
                        }
                    }));
        }

        List<TrainingSample> samples = new ArrayList<>();
        float logp = -1f;
        for (int b = 0; b < batch; b++) {
            float[] lps = new float[newTokens];
            java.util.Arrays.fill(lps, logp);
            samples.add(new TrainingSample(prompts.get(b), responses.get(b), lps, false, (float) rng.nextDouble(),
                    null, null));
        }
        PpoConfig ppo = PpoConfig.builder().batchSize(batch).miniBatchSize(batch).ppoEpochs(1).mixedPrecision(precision)
                .build();
        memory.reset();
        try (LmPolicyTrainer trainer = LmPolicyTrainer.open(ppo, folder, folder, dev)) {
            long[] seed = {1};
            row(rows, "PPO step (policy+value, reference)", (double) batch * (promptLength + newTokens), batch,
                    bench.bestSeconds(() -> trainer.step(samples, 0.05, seed[0]++)));
        }
        return rows;
    }

    /** The precision as the header prints it. */
    private String precisionLine() {
        return precision == Precision.FP32 ? "fp32" : "fp16 autocast (SFT step fp32)";
    }

    private void row(ResultTable rows, String name, double tokens, double seconds) {
        row(rows, name, tokens, batch, seconds);
    }

    /** Adds a row with the peak memory since the last {@link PeakMemory#reset()}. */
    private void row(ResultTable rows, String name, double tokens, double sequences, double seconds) {
        PeakMemory.Peak peak = memory.peak();
        if (peak.residentBytes() > wholeRun.residentBytes()) {
            wholeRun = peak;
        }
        rows.row(name, tokens / seconds, sequences / seconds, seconds, mb(peak.residentBytes()), mb(peak.heapBytes()),
                mb(peak.nativeBytes()));
    }

    private static double mb(long bytes) {
        return PeakMemory.mb(bytes);
    }
}
