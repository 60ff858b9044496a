package io.salsa.bench;

import ai.djl.Device;
import io.salsa.model.generate.Generator;
import io.salsa.model.generate.SamplingConfig;
import io.salsa.model.lm.DeviceOptions;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
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
        description = "Benchmark the GPT-2 model: generation tokens/s with and without KV cache, SFT training tokens/s.")
public final class ModelBenchCommand extends BenchCommand {

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

    @Option(names = "--train-steps", defaultValue = "5", description = "Timed SFT steps per repetition (default: ${DEFAULT-VALUE}).")
    int trainSteps;

    @Mixin
    DeviceOptions deviceOptions = new DeviceOptions();

    public ModelBenchCommand() {
        super(BenchOptions.of("model")
                .warmup("--warmup", 1, "Untimed runs of each measurement before the timed ones")
                .measured("--repeats", 3, 1, Integer.MAX_VALUE, "Timed repetitions after the warm-up; the best is reported")
                .build());
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
        ResultTable rows = new ResultTable("model").text("measurement", 34).number("tokens/s", 12, 1)
                .number("seconds", 12, 3);
        try (GptModel model = GptModel.random(cfg, GptModel.Head.NONE, 1, dev)) {
            SplittableRandom rng = new SplittableRandom(7);
            List<int[]> prompts = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                prompts.add(rng.ints(promptLength, 2, cfg.vocabSize()).toArray());
            }
            Generator gen = new Generator(model);
            SamplingConfig sampling = SamplingConfig.sampling(newTokens).withStopAtEos(false);
            double generated = (double) batch * newTokens;
            row(rows, "generate, KV cache", generated, bench.bestSeconds(() -> gen.generate(prompts, sampling, 1)));
            row(rows, "generate, no cache", generated,
                    bench.bestSeconds(() -> gen.generate(prompts, sampling.withCache(false), 1)));

            List<SftData.Sequence> seqs = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                seqs.add(new SftData.Sequence(rng.ints(promptLength + newTokens, 2, cfg.vocabSize()).toArray(), promptLength));
            }
            SftBatch sft = SftBatch.of(seqs, cfg.padTokenId());
            model.setTrainable(true);
            try (AdamW opt = AdamW.withDefaults(model.parameters(), 0.0)) {
                double secs = bench.bestSeconds(() -> {
                    for (int s = 0; s < trainSteps; s++) {
                        SftTrainer.trainStep(model, sft);
                        Gradients.clipGlobalNorm(model.parameters().values(), 1.0);
                        opt.step(1e-4);
                        Gradients.zero(model.parameters().values());
                    }
                });
                row(rows, "SFT train step (fwd+bwd+AdamW)", (double) sft.tokens() * trainSteps, secs);
            }
            model.setTrainable(false);
            row(rows, "forward only (scoring)", (double) sft.tokens() * trainSteps, bench.bestSeconds(() -> {
                for (int s = 0; s < trainSteps; s++) {
                    SftTrainer.evalLoss(model, seqs, batch);
                }
            }));
        }
        return rows;
    }

    private static void row(ResultTable rows, String name, double tokens, double seconds) {
        rows.row(name, tokens / seconds, seconds);
    }
}
