package io.salsa.scorer;

import io.salsa.broker.EmbeddedKafkaBroker;
import io.salsa.runtime.cli.SalsaSubcommand;
import io.salsa.runtime.io.FileOps;
import io.salsa.model.lm.DeviceOptions;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.schemas.KafkaSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code salsa bench scorer}: rollouts scored per second by one instance, and the share of time outside the model. */
@Command(name = "scorer", mixinStandardHelpOptions = true,
        description = "Benchmark one reward-scorer instance end to end on a real Kafka broker (exactly-once, "
                + "registry serde, changelogged batch buffer): rollouts/s and the share of wall time spent "
                + "outside the reward model, next to the model alone.")
public final class ScorerBenchCommand implements Callable<Integer>, SalsaSubcommand {

    @Option(names = "--config", description = "config.json whose architecture to benchmark (default: "
            + "shared/golden/small/config.json found above the current folder); weights are random, n_positions "
            + "is raised to fit the rollouts.")
    Path config;

    @Option(names = "--bootstrap", description = "Use this Kafka instead of starting an in-process broker.")
    String bootstrap;

    @Option(names = "--rollouts", defaultValue = "1024", description = "Rollouts in the measured window (default: ${DEFAULT-VALUE}).")
    int rollouts;

    @Option(names = "--warmup", defaultValue = "128", description = "Rollouts scored before measuring (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--prompt-tokens", defaultValue = "16", description = "Prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--response-tokens", defaultValue = "256", description = "Response length (default: ${DEFAULT-VALUE}).")
    int responseTokens;

    @Option(names = "--batch-size", defaultValue = "32", description = "Scorer micro-batch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Mixin
    DeviceOptions deviceOptions = new DeviceOptions();

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
        Path cfgFile = config != null ? config : findGoldenSmall(Path.of("").toAbsolutePath());
        if (cfgFile == null || !Files.isRegularFile(cfgFile)) {
            System.err.println("salsa bench scorer: " + (cfgFile == null
                    ? "no shared/golden/small/config.json above the current folder; pass --config FILE"
                    : cfgFile + " does not exist"));
            return 2;
        }
        ScorerBench.Settings settings;
        GptConfig golden;
        ai.djl.Device device;
        try {
            settings = new ScorerBench.Settings(rollouts, warmup, promptTokens, responseTokens, batchSize, 42);
            golden = GptConfig.load(cfgFile);
            device = deviceOptions.apply();
        } catch (IllegalArgumentException | java.io.IOException e) {
            System.err.println("salsa bench scorer: " + e.getMessage());
            return 2;
        }
        Path work = Files.createTempDirectory("salsa-bench-scorer");
        EmbeddedKafkaBroker broker = null;
        try (GptModel gpt = ScorerBench.smallModel(golden, promptTokens + responseTokens, 7, device);
             GptRewardScorerModel model = new GptRewardScorerModel(gpt, "bench-rm", 1)) {
            String servers = bootstrap;
            if (servers == null) {
                System.out.println("starting an in-process Kafka broker ...");
                broker = EmbeddedKafkaBroker.start(work.resolve("kafka"));
                servers = broker.bootstrapServers();
            }
            KafkaSettings kafka = KafkaSettings.embedded(servers, "bench-" + System.currentTimeMillis() + ".");
            GptConfig c = gpt.config();
            System.out.printf("model: %d layers, %d heads, %d wide, vocab %d, n_positions %d (architecture of %s, "
                            + "random weights); PyTorch threads %d; %d cores%n", c.nLayer(), c.nHead(), c.nEmbd(),
                    c.vocabSize(), c.nPositions(), cfgFile, deviceOptions.threads(), Runtime.getRuntime().availableProcessors());
            ScorerBench.Result r = ScorerBench.run(kafka, work.resolve("state"), model, c.vocabSize(), settings,
                    System.out::println);
            System.out.println(r.describe());
            kafka.closeRegistry();
            return 0;
        } finally {
            if (broker != null) {
                broker.close();
            }
            FileOps.deleteTreeQuietly(work);
        }
    }

    /** {@code shared/golden/small/config.json} in this folder or one above it (the repository layout here). */
    static Path findGoldenSmall(Path from) {
        for (Path dir = from; dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared/golden/small/config.json");
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        return null;
    }
}
