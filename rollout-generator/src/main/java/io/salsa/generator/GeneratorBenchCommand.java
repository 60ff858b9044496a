package io.salsa.generator;

import io.salsa.runtime.cli.SalsaSubcommand;
import io.salsa.runtime.io.FileOps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code salsa bench generator}: generated tokens/s by batch size, and the share of time outside the model. */
@Command(name = "generator", mixinStandardHelpOptions = true,
        description = "Benchmark the rollout generator: model-only tokens/s and the full service (in-process "
                + "Kafka broker, registry serde, acks=all) at several batch sizes; reports the share of wall time "
                + "spent outside the model.")
public final class GeneratorBenchCommand implements Callable<Integer>, SalsaSubcommand {

    @Option(names = "--model", description = "Model folder (default: shared/golden/small found above the current folder).")
    Path model;

    @Option(names = "--batch-sizes", split = ",", defaultValue = "1,8,32",
            description = "Batch sizes to measure (default: ${DEFAULT-VALUE}).")
    List<Integer> batchSizes;

    @Option(names = "--batches", defaultValue = "4", description = "Batches per size (default: ${DEFAULT-VALUE}).")
    int batches;

    @Option(names = "--prompt-tokens", defaultValue = "16", description = "Prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--max-new-tokens", defaultValue = "32", description = "Response length limit (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Override
    public String group() {
        return "bench";
    }

    @Override
    public String groupDescription() {
        return "Benchmarks.";
    }

    @Override
    public Integer call() throws Exception {
        Path dir = model != null ? model : GeneratorBench.findGoldenSmall(Path.of(""));
        if (dir == null || !Files.isRegularFile(dir.resolve("config.json"))) {
            System.err.println("salsa bench generator: " + (dir == null
                    ? "no shared/golden/small above the current folder; pass --model DIR"
                    : dir + " is not a model folder (no config.json)"));
            return 2;
        }
        if (batches < 1 || promptTokens < 1 || maxNewTokens < 1 || batchSizes.stream().anyMatch(b -> b < 1)) {
            System.err.println("salsa bench generator: --batches, --prompt-tokens, --max-new-tokens and every "
                    + "--batch-sizes value must be >= 1");
            return 2;
        }
        System.out.printf("model %s, prompt %d tokens, up to %d new tokens, %d batches per size, PyTorch threads %s%n",
                dir, promptTokens, maxNewTokens, batches, System.getProperty("ai.djl.pytorch.num_threads", "default"));
        try (FileOps.ScratchDir work = FileOps.scratchDir("salsa-bench-generator")) {
            new GeneratorBench(dir, promptTokens, maxNewTokens, batches).run(batchSizes, work.path());
        }
        return 0;
    }
}
