package io.salsa.model.train;

import ai.djl.Device;
import io.salsa.runtime.cli.SalsaSubcommand;
import io.salsa.model.generate.Generator;
import io.salsa.model.generate.SamplingConfig;
import io.salsa.model.lm.DeviceOptions;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code salsa bench model}: generation tokens/s with and without the KV cache, and SFT training tokens/s,
 * for a model shape (default: the golden {@code small} config), so performance is measured, not assumed.
 */
@Command(name = "model", mixinStandardHelpOptions = true,
        description = "Benchmark the GPT-2 model: generation tokens/s with and without KV cache, SFT training tokens/s.")
public final class BenchModelCommand implements Callable<Integer>, SalsaSubcommand {

    /** The golden {@code small} shape, used when no config is given or found. */
    static final GptConfig SMALL = GptConfig.of(4, 4, 128, 1000, 128, 0, 1);

    @Option(names = "--config", paramLabel = "DIR|FILE",
            description = "config.json (or model folder) giving the shape; default: shared/golden/small if found, else the same built-in shape (4 layers, 128 wide, 4 heads, vocab 1000).")
    Path config;

    @Option(names = "--batch", defaultValue = "8", description = "Sequences per batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--new-tokens", defaultValue = "64", description = "Tokens generated per sequence (default: ${DEFAULT-VALUE}).")
    int newTokens;

    @Option(names = "--prompt-length", defaultValue = "16", description = "Prompt tokens per sequence (default: ${DEFAULT-VALUE}).")
    int promptLength;

    @Option(names = "--repeats", defaultValue = "3", description = "Timed repetitions after one warm-up; the best is reported (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--train-steps", defaultValue = "5", description = "Timed SFT steps per repetition (default: ${DEFAULT-VALUE}).")
    int trainSteps;

    @Mixin
    DeviceOptions deviceOptions = new DeviceOptions();


    @Override
    public String group() {
        return "bench";
    }

    @Override
    public String groupDescription() {
        return "Benchmarks (performance is measured here, never asserted in tests).";
    }

    @Override
    public Integer call() {
        try {
            if (batch < 1 || newTokens < 1 || promptLength < 1 || repeats < 1 || trainSteps < 1) {
                throw new IllegalArgumentException("--batch, --new-tokens, --prompt-length, --repeats and --train-steps must be >= 1");
            }
            Device dev = deviceOptions.apply();
            GptConfig cfg = shape();
            if (promptLength + newTokens > cfg.nPositions()) {
                throw new IllegalArgumentException("--prompt-length + --new-tokens = " + (promptLength + newTokens)
                        + " exceeds n_positions=" + cfg.nPositions());
            }
            List<Row> rows = run(cfg, dev);
            System.out.printf(Locale.ROOT, "GPT-2 %d layers × %d wide, %d heads, vocab %d; batch %d, prompt %d, %d new tokens; "
                            + "device %s, %d thread(s), best of %d%n",
                    cfg.nLayer(), cfg.nEmbd(), cfg.nHead(), cfg.vocabSize(), batch, promptLength, newTokens, dev, deviceOptions.threads(), repeats);
            System.out.printf(Locale.ROOT, "%-34s %12s %12s%n", "measurement", "tokens/s", "seconds");
            for (Row r : rows) {
                System.out.printf(Locale.ROOT, "%-34s %12.1f %12.3f%n", r.name(), r.tokensPerSecond(), r.seconds());
            }
            return 0;
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("salsa bench model: " + SftTrainCommand.message(e));
            return 2;
        }
    }

    private GptConfig shape() throws IOException {
        if (config != null) {
            return GptConfig.load(config);
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path golden = p.resolve("shared/golden/small/config.json");
            if (Files.isRegularFile(golden)) {
                return GptConfig.load(golden);
            }
        }
        return SMALL;
    }

    /** One measured line of the table. */
    record Row(String name, double tokens, double seconds) {
        double tokensPerSecond() {
            return tokens / seconds;
        }
    }

    List<Row> run(GptConfig cfg, Device dev) {
        List<Row> rows = new ArrayList<>();
        try (GptModel model = GptModel.random(cfg, GptModel.Head.NONE, 1, dev)) {
            SplittableRandom rng = new SplittableRandom(7);
            List<int[]> prompts = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                prompts.add(rng.ints(promptLength, 2, cfg.vocabSize()).toArray());
            }
            Generator gen = new Generator(model);
            SamplingConfig sampling = SamplingConfig.sampling(newTokens).withStopAtEos(false);
            double generated = (double) batch * newTokens;
            rows.add(new Row("generate, KV cache", generated, best(() -> gen.generate(prompts, sampling, 1))));
            rows.add(new Row("generate, no cache", generated, best(() -> gen.generate(prompts, sampling.withCache(false), 1))));

            List<SftData.Sequence> seqs = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                seqs.add(new SftData.Sequence(rng.ints(promptLength + newTokens, 2, cfg.vocabSize()).toArray(), promptLength));
            }
            SftBatch sft = SftBatch.of(seqs, cfg.padTokenId());
            model.setTrainable(true);
            try (AdamW opt = AdamW.withDefaults(model.parameters(), 0.0)) {
                double secs = best(() -> {
                    for (int s = 0; s < trainSteps; s++) {
                        SftTrainer.trainStep(model, sft);
                        Gradients.clipGlobalNorm(model.parameters().values(), 1.0);
                        opt.step(1e-4);
                        Gradients.zero(model.parameters().values());
                    }
                });
                rows.add(new Row("SFT train step (fwd+bwd+AdamW)", (double) sft.tokens() * trainSteps, secs));
            }
            model.setTrainable(false);
            rows.add(new Row("forward only (scoring)", (double) sft.tokens() * trainSteps, best(() -> {
                for (int s = 0; s < trainSteps; s++) {
                    SftTrainer.evalLoss(model, seqs, batch);
                }
            })));
        }
        return rows;
    }

    private double best(Runnable work) {
        work.run(); // warm-up
        double best = Double.MAX_VALUE;
        for (int r = 0; r < repeats; r++) {
            long t0 = System.nanoTime();
            work.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }
}
