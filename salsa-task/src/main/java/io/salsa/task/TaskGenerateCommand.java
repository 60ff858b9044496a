package io.salsa.task;

import io.salsa.runtime.cli.SalsaCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code salsa task generate}: writes the built-in task's splits, corpus, preference pairs and tokenizer to a folder. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate the built-in synthetic instruction task (deterministic for a seed): SFT splits "
                + "train/eval/ood as JSONL, preference pairs, a pretraining corpus, the world and a tokenizer.json.")
public final class TaskGenerateCommand extends SalsaCommand {

    public TaskGenerateCommand() {
        super("task", "The built-in synthetic instruction task: data, tokenizer and simulated rater.");
    }

    @Option(names = "--out", required = true, description = "Output folder (created; existing task files are replaced).")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "World and split seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--entities", defaultValue = "" + TaskConfig.DEFAULT_ENTITIES,
            description = "Invented entities, " + TaskWorld.MIN_ENTITIES + ".." + TaskWorld.MAX_ENTITIES
                    + " (default: ${DEFAULT-VALUE}).")
    int entities;

    @Option(names = "--ood-fraction", defaultValue = "0.15",
            description = "Share of entity-attribute combinations held out of training, 0.05..0.5 (default: ${DEFAULT-VALUE}).")
    double oodFraction;

    @Option(names = "--eval-fraction", defaultValue = "0.1",
            description = "Share of in-distribution questions kept for evaluation, 0.01..0.5 (default: ${DEFAULT-VALUE}).")
    double evalFraction;

    @Option(names = "--preference-pairs", defaultValue = "1000",
            description = "Preference pairs to write (default: ${DEFAULT-VALUE}).")
    int preferencePairs;

    @Option(names = "--vocab-limit", defaultValue = "1024",
            description = "Largest tokenizer vocabulary (default: ${DEFAULT-VALUE}).")
    int vocabLimit;

    @Override
    public Integer call() {
        TaskConfig config;
        try {
            config = new TaskConfig(seed, entities, oodFraction, evalFraction, preferencePairs, 8, vocabLimit);
        } catch (IllegalArgumentException e) {
            return refuse(e.getMessage().replace("oodComboFraction", "--ood-fraction")
                    .replace("evalFraction", "--eval-fraction").replace("preferencePairs", "--preference-pairs")
                    .replace("vocabLimit", "--vocab-limit").replace("entities", "--entities"));
        }
        if (Files.exists(out) && !Files.isDirectory(out)) {
            return refuse("--out " + out + " is a file, not a folder");
        }
        try {
            long t0 = System.nanoTime();
            Map<String, Integer> counts = TaskDataset.generate(config).writeTo(out);
            System.out.printf("wrote %s in %.1f s%n", out.toAbsolutePath(), (System.nanoTime() - t0) / 1e9);
            counts.forEach((file, n) -> System.out.printf("  %-22s %d%n", file, n));
            return 0;
        } catch (IOException e) {
            System.err.println("salsa task generate: " + e.getMessage());
            return 1;
        }
    }
}
