package io.salsa.generator;

import io.salsa.runtime.cli.KafkaOptions;
import io.salsa.runtime.cli.SalsaSubcommand;
import io.salsa.schemas.KafkaSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code salsa prompts load FILE.jsonl [--epochs N]}: publishes a prompt set for the generators. */
@Command(name = "load", mixinStandardHelpOptions = true,
        description = "Publish a JSONL prompt set ({\"prompt\": ...} or {\"id\": ..., \"prompt\": ...} per line) "
                + "to the prompts topic, once per epoch.")
public final class PromptsLoadCommand implements Callable<Integer>, SalsaSubcommand {

    @Parameters(index = "0", paramLabel = "FILE.jsonl", description = "The prompt set.")
    Path file;

    @Option(names = "--epochs", defaultValue = "1",
            description = "Passes over the set; each pass is published with its epoch number (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Mixin
    KafkaOptions kafka = new KafkaOptions();

    @Override
    public String group() {
        return "prompts";
    }

    @Override
    public String groupDescription() {
        return "Prompt sets: publish prompts for the rollout generators.";
    }

    @Override
    public Integer call() throws Exception {
        if (epochs < 1) {
            System.err.println("salsa prompts load: --epochs must be >= 1, got " + epochs);
            return 2;
        }
        if (!Files.isRegularFile(file)) {
            System.err.println("salsa prompts load: " + file + " is not a readable file");
            return 2;
        }
        KafkaSettings settings;
        try {
            settings = kafka.kafka(System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("salsa prompts load: " + e.getMessage());
            return 2;
        }
        List<PromptFile.Entry> entries;
        try {
            entries = PromptFile.read(file);
        } catch (PromptFile.BadLineException e) {
            System.err.println("salsa prompts load: " + e.getMessage());
            return 2;
        } catch (IOException e) {
            System.err.println("salsa prompts load: cannot read " + file + ": " + e.getMessage());
            return 2;
        }
        long published = PromptPublisher.publish(settings, entries, epochs);
        System.out.printf("published %d prompts (%d distinct x %d epochs) to %s%n", published, entries.size(),
                epochs, settings.topic(io.salsa.schemas.Topics.PROMPTS));
        return 0;
    }
}
