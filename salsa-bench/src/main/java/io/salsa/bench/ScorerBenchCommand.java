package io.salsa.bench;

import ai.djl.Device;
import io.salsa.model.lm.DeviceOptions;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.schemas.KafkaSettings;
import io.salsa.scorer.LmRewardScorerModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code salsa bench scorer}: rollouts scored per second by one instance, and the share of time outside the model. */
@Command(name = "scorer", mixinStandardHelpOptions = true, modelTransformer = BenchOptions.Install.class,
        description = "Benchmark one reward-scorer instance end to end on a real Kafka broker (exactly-once, "
                + "registry serde, changelogged batch buffer): rollouts/s and the share of wall time spent "
                + "outside the reward model, next to the model alone.")
public final class ScorerBenchCommand extends BenchCommand {

    @Option(names = "--config", description = "config.json whose architecture to benchmark (default: "
            + "shared/golden/small/config.json found above the current folder); weights are random, n_positions "
            + "is raised to fit the rollouts.")
    Path config;

    @Option(names = "--prompt-tokens", defaultValue = "16", description = "Prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--response-tokens", defaultValue = "256", description = "Response length (default: ${DEFAULT-VALUE}).")
    int responseTokens;

    @Option(names = "--batch-size", defaultValue = "32", description = "Scorer micro-batch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Mixin
    DeviceOptions deviceOptions = new DeviceOptions();

    public ScorerBenchCommand() {
        super(BenchOptions.warmup("--warmup", 128, "Rollouts scored before measuring")
                .measured("--rollouts", 1024, "Rollouts in the measured window").kafka(BenchOptions.Kafka.EMBEDDED));
    }

    @Override
    public Integer call() throws Exception {
        Path cfgFile = config != null ? config : GoldenSmall.find("config.json");
        if (cfgFile == null || !Files.isRegularFile(cfgFile)) {
            return bench.refuse(cfgFile == null
                    ? "no shared/golden/small/config.json above the current folder; pass --config FILE"
                    : cfgFile + " does not exist");
        }
        ScorerBench.Settings settings;
        GptConfig golden;
        Device device;
        try {
            settings = new ScorerBench.Settings(bench.measured(), bench.warmup(), promptTokens, responseTokens,
                    batchSize, 42);
            golden = GptConfig.load(cfgFile);
            device = deviceOptions.apply();
        } catch (IllegalArgumentException | IOException e) {
            return bench.refuse(e);
        }
        try (Scratch scratch = Scratch.create("scorer");
             GptModel gpt = ScorerBench.smallModel(golden, promptTokens + responseTokens, 7, device);
             LmRewardScorerModel model = new LmRewardScorerModel(gpt, "bench-rm", 1)) {
            Optional<BenchBroker> started = bench.brokerOrRefuse(scratch.dir(), Map.of(), System.out::println);
            if (started.isEmpty()) {
                return EXIT_BAD_INPUT;
            }
            try (BenchBroker broker = started.get()) {
                KafkaSettings kafka = broker.settings("bench-" + System.currentTimeMillis() + ".");
                GptConfig c = gpt.config();
                System.out.printf("model: %d layers, %d heads, %d wide, vocab %d, n_positions %d (architecture of %s, "
                                + "random weights); PyTorch threads %d; %d cores%n", c.nLayer(), c.nHead(), c.nEmbd(),
                        c.vocabSize(), c.nPositions(), cfgFile, deviceOptions.threads(),
                        Runtime.getRuntime().availableProcessors());
                ScorerBench.Result r = ScorerBench.run(kafka, scratch.resolve("state"), model, c.vocabSize(),
                        settings, System.out::println,
                        bench.progress("scored", settings.warmup() + settings.rollouts(), "rollouts"));
                System.out.println(r.describe());
                kafka.closeRegistry();
                bench.save(r.table(), System.out);
                return 0;
            }
        }
    }
}
