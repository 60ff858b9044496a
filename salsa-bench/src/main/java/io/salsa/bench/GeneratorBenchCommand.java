package io.salsa.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code salsa bench generator}: generated tokens/s by batch size, and the share of time outside the model. */
@Command(name = "generator", mixinStandardHelpOptions = true, modelTransformer = BenchOptions.Install.class,
        description = "Benchmark the rollout generator: model-only tokens/s and the full service (in-process "
                + "Kafka broker, registry serde, acks=all) at several batch sizes; reports the share of wall time "
                + "spent outside the model.")
public final class GeneratorBenchCommand extends BenchCommand {

    @Option(names = "--model", description = "Model folder (default: shared/golden/small found above the current folder).")
    Path model;

    @Option(names = "--batch-sizes", split = ",", defaultValue = "1,8,32",
            description = "Batch sizes to measure (default: ${DEFAULT-VALUE}).")
    List<Integer> batchSizes;

    @Option(names = "--prompt-tokens", defaultValue = "16", description = "Prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--max-new-tokens", defaultValue = "32", description = "Response length limit (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    public GeneratorBenchCommand() {
        super(BenchOptions.warmup("--warmup", 1, "Untimed model calls before measuring (PyTorch initialisation)")
                .measured("--batches", 4, "Batches per size").kafka(BenchOptions.Kafka.EMBEDDED));
    }

    @Override
    public Integer call() throws Exception {
        Path golden = GoldenSmall.find("model.safetensors");
        Path dir = model != null ? model : golden == null ? null : golden.getParent();
        if (dir == null || !Files.isRegularFile(dir.resolve("config.json"))) {
            return bench.refuse(dir == null
                    ? "no shared/golden/small above the current folder; pass --model DIR"
                    : dir + " is not a model folder (no config.json)");
        }
        if (promptTokens < 1 || maxNewTokens < 1 || batchSizes.stream().anyMatch(b -> b < 1)
                || bench.problem() != null) {
            return bench.refuse("--batches, --prompt-tokens, --max-new-tokens and every --batch-sizes value must "
                    + "be >= 1, --warmup >= 0");
        }
        System.out.printf("model %s, prompt %d tokens, up to %d new tokens, %d batches per size, PyTorch threads %s%n",
                dir, promptTokens, maxNewTokens, bench.measured(),
                System.getProperty("ai.djl.pytorch.num_threads", "default"));
        try (Scratch scratch = Scratch.create("generator")) {
            Optional<BenchBroker> started = bench.brokerOrRefuse(scratch.dir(), Map.of(), System.out::println);
            if (started.isEmpty()) {
                return EXIT_BAD_INPUT;
            }
            try (BenchBroker broker = started.get()) {
                List<GeneratorBench.Result> results = new GeneratorBench(dir, promptTokens, maxNewTokens, bench)
                        .run(batchSizes, broker, scratch.dir(), System.out);
                bench.save(GeneratorBench.table(results), System.out);
            }
        }
        return 0;
    }
}
