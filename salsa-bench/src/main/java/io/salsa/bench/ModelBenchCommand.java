package io.salsa.bench;

import ai.djl.Device;
import io.salsa.model.generate.Generator;
import io.salsa.model.generate.SamplingConfig;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.DeviceOptions;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.LmCache;
import io.salsa.model.lm.llama.LlamaModel;
import io.salsa.model.lm.llama.LlamaShapes;
import io.salsa.model.train.AdamW;
import io.salsa.model.train.Gradients;
import io.salsa.model.train.SftBatch;
import io.salsa.model.train.SftData;
import io.salsa.model.train.SftTrainer;
import java.io.IOException;
import java.nio.file.Files;
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
        description = "Benchmark a model: generation tokens/s (KV cache; GPT-2 also without), SFT training and scoring tokens/s.")
public final class ModelBenchCommand extends BenchCommand {

    /** The golden {@code small} shape, used when no config is given or found. */
    static final GptConfig SMALL = GptConfig.of(4, 4, 128, 1000, 128, 0, 1);

    @Option(names = "--config", paramLabel = "DIR|FILE",
            description = "config.json (or model folder) giving the shape; default: shared/golden/small if found, else the same built-in shape (4 layers, 128 wide, 4 heads, vocab 1000).")
    Path config;

    @Option(names = "--model", paramLabel = "DIR|NAME",
            description = "A Hugging Face model folder (gpt2, llama, mistral, qwen2, gemma) or a named shape with random weights: "
                    + "qwen2.5-0.5b, llama-3.2-1b. Instead of --config; also prints the peak memory.")
    String model;

    @Option(names = "--batch", defaultValue = "8", description = "Sequences per batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--new-tokens", defaultValue = "64", description = "Tokens generated per sequence (default: ${DEFAULT-VALUE}).")
    int newTokens;

    @Option(names = "--prompt-length", defaultValue = "16", description = "Prompt tokens per sequence (default: ${DEFAULT-VALUE}).")
    int promptLength;

    @Option(names = "--train-steps", defaultValue = "5", description = "Timed SFT steps per repetition (default: ${DEFAULT-VALUE}).")
    int trainSteps;

    @Mixin
    DeviceOptions deviceOptions = new DeviceOptions();

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
            if (model != null) {
                if (config != null) {
                    throw new IllegalArgumentException("--model and --config exclude each other");
                }
                return runModel(deviceOptions.apply());
            }
            Device dev = deviceOptions.apply();
            GptConfig cfg = shape();
            if (promptLength + newTokens > cfg.nPositions()) {
                throw new IllegalArgumentException("--prompt-length + --new-tokens = " + (promptLength + newTokens)
                        + " exceeds n_positions=" + cfg.nPositions());
            }
            ResultTable table = run(cfg, dev);
            System.out.printf(Locale.ROOT, "GPT-2 %d layers × %d wide, %d heads, vocab %d; batch %d, prompt %d, %d new tokens; "
                            + "device %s, %d thread(s), best of %d%n",
                    cfg.nLayer(), cfg.nEmbd(), cfg.nHead(), cfg.vocabSize(), batch, promptLength, newTokens, dev,
                    deviceOptions.threads(), bench.measured());
            table.print(System.out);
            bench.save(table, System.out);
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

    /** The measurements as a table of name, tokens/s and seconds. */
    ResultTable run(GptConfig cfg, Device dev) throws Exception {
        try (GptModel gpt = GptModel.random(cfg, GptModel.Head.NONE, 1, dev)) {
            return run(gpt);
        }
    }

    /** {@code --model}: a folder through {@link CausalLms#load} or a named shape with random weights. */
    private int runModel(Device dev) throws Exception {
        Path folder = Path.of(model);
        boolean named = LlamaShapes.known(model);
        if (!named && !Files.isDirectory(folder)) {
            throw new IllegalArgumentException("--model " + model + ": neither a model folder nor a known shape (known: "
                    + String.join(", ", LlamaShapes.NAMES) + ")");
        }
        long loadStart = System.nanoTime();
        try (CausalLm lm = named ? LlamaModel.random(LlamaShapes.config(model), GptModel.Head.NONE, 1, dev)
                : CausalLms.load(folder, GptModel.Head.NONE, dev)) {
            double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
            if (promptLength + newTokens > lm.maxPositions()) {
                throw new IllegalArgumentException("--prompt-length + --new-tokens = " + (promptLength + newTokens)
                        + " exceeds the model's " + lm.maxPositions() + " positions");
            }
            ResultTable table = run(lm);
            System.out.printf(Locale.ROOT, "%s %s: %d layers × %d wide, vocab %d, %,d parameters (%s in %.1f s); batch %d, "
                            + "prompt %d, %d new tokens; device %s, %d thread(s), best of %d%n",
                    lm.modelType(), model, lm.numLayers(), lm.hiddenSize(), lm.vocabSize(), lm.parameterCount(),
                    named ? "random weights" : "loaded", loadSeconds, batch, promptLength, newTokens, dev,
                    deviceOptions.threads(), bench.measured());
            table.print(System.out);
            Runtime rt = Runtime.getRuntime();
            System.out.printf(Locale.ROOT, "peak memory: resident %s (heap committed %.0f MB of max %.0f MB)%n",
                    peakResident(), rt.totalMemory() / 1e6, rt.maxMemory() / 1e6);
            bench.save(table, System.out);
            return 0;
        }
    }

    /** The process's peak resident set (heap + native: PyTorch's tensors live outside the heap), from /proc. */
    static String peakResident() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    String[] parts = line.trim().split("\\s+");
                    return String.format(Locale.ROOT, "%.0f MB", Long.parseLong(parts[1]) / 1024.0);
                }
            }
        } catch (IOException | RuntimeException e) {
            return "unknown (" + e.getMessage() + ")";
        }
        return "unknown (no VmHWM in /proc/self/status)";
    }

    /** The measurements of {@code lm} as a table of name, tokens/s and seconds. */
    ResultTable run(CausalLm lm) throws Exception {
        ResultTable rows = new ResultTable("model").text("measurement", 34).number("tokens/s", 12, 1)
                .number("seconds", 12, 3);
        SplittableRandom rng = new SplittableRandom(7);
        List<int[]> prompts = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            prompts.add(rng.ints(promptLength, 2, lm.vocabSize()).toArray());
        }
        double generated = (double) batch * newTokens;
        if (lm instanceof GptModel gpt) {
            Generator gen = new Generator(gpt);
            SamplingConfig sampling = SamplingConfig.sampling(newTokens).withStopAtEos(false);
            row(rows, "generate, KV cache", generated, bench.bestSeconds(() -> gen.generate(prompts, sampling, 1)));
            row(rows, "generate, no cache", generated,
                    bench.bestSeconds(() -> gen.generate(prompts, sampling.withCache(false), 1)));
        } else {
            row(rows, "generate, KV cache (greedy)", generated, bench.bestSeconds(() -> greedy(lm, prompts)));
        }

        List<SftData.Sequence> seqs = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            seqs.add(new SftData.Sequence(rng.ints(promptLength + newTokens, 2, lm.vocabSize()).toArray(), promptLength));
        }
        SftBatch sft = SftBatch.of(seqs, lm.padTokenId());
        lm.setTrainable(true);
        try (AdamW opt = AdamW.withDefaults(lm.parameters(), 0.0)) {
            double secs = bench.bestSeconds(() -> {
                for (int s = 0; s < trainSteps; s++) {
                    SftTrainer.trainStep(lm, sft);
                    Gradients.clipGlobalNorm(lm.parameters().values(), 1.0);
                    opt.step(1e-4);
                    Gradients.zero(lm.parameters().values());
                }
            });
            row(rows, "SFT train step (fwd+bwd+AdamW)", (double) sft.tokens() * trainSteps, secs);
        }
        lm.setTrainable(false);
        row(rows, "forward only (scoring)", (double) sft.tokens() * trainSteps, bench.bestSeconds(() -> {
            for (int s = 0; s < trainSteps; s++) {
                SftTrainer.evalLoss(lm, seqs, batch);
            }
        }));
        return rows;
    }

    /**
     * Greedy decoding of every prompt (same length, so no padding) through the model's own cache: the prompt in one
     * pass, then one token per step, argmax taken on the device. Model work only (no sampling maths, no EOS stop).
     */
    private void greedy(CausalLm lm, List<int[]> prompts) {
        try (NDManager scope = lm.newScope();
             LmCache cache = lm.newCache(scope, prompts.size(), promptLength + newTokens)) {
            NDArray next = scope.create(prompts.toArray(new int[0][]));
            for (int s = 0; s < newTokens; s++) {
                try (NDManager step = scope.newSubManager()) {
                    NDArray in = next.toType(DataType.INT64, false);
                    in.attach(step);
                    NDArray mask = step.ones(new Shape(prompts.size(), cache.length() + in.getShape().get(1)), DataType.INT64);
                    NDArray logits = lm.run(in, mask, null, cache, false).logits();
                    NDArray last = logits.get(new NDIndex(":, -1, :")).argMax(-1).reshape(-1, 1);
                    last.attach(scope);
                    next = last;
                }
            }
        }
    }

    private static void row(ResultTable rows, String name, double tokens, double seconds) {
        rows.row(name, tokens / seconds, seconds);
    }
}
