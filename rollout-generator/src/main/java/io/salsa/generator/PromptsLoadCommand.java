package io.salsa.generator;

import io.salsa.runtime.cli.KafkaOptions;
import io.salsa.runtime.cli.SalsaCommand;
import io.salsa.schemas.KafkaSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code salsa prompts load FILE.jsonl [--epochs N]}: publishes a prompt set for the generators. */
@Command(name = "load", mixinStandardHelpOptions = true,
        description = {"Publish a JSONL prompt set ({\"prompt\": ...} or {\"id\": ..., \"prompt\": ...} per line, "
                + "or {\"messages\": [...]}; optional \"split\" and \"metadata\") to the prompts topic, once per epoch.",
                "Fields outside the prompt schema are not published: they are named on stderr, or refused with "
                        + "--strict (exit 2, naming the line)."})
public final class PromptsLoadCommand extends SalsaCommand {

    public PromptsLoadCommand() {
        super("prompts", "Prompt sets: publish prompts for the rollout generators.");
    }

    @Parameters(index = "0", paramLabel = "FILE.jsonl", description = "The prompt set.")
    Path file;

    @Option(names = "--epochs", defaultValue = "1",
            description = "Passes over the set; each pass is published with its epoch number (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--strict", description = "Refuse a line with a field outside the prompt schema (id, prompt, "
            + "messages, split, metadata) instead of ignoring the field with a warning.")
    boolean strict;

    @Mixin
    KafkaOptions kafka = new KafkaOptions();

    @Override
    public Integer call() throws Exception {
        if (epochs < 1) {
            return refuse("--epochs must be >= 1, got " + epochs);
        }
        if (!Files.isRegularFile(file)) {
            return refuse(file + " is not a readable file");
        }
        KafkaSettings settings;
        try {
            settings = kafka.kafka(System.getenv());
        } catch (IllegalArgumentException e) {
            return refuse(e.getMessage());
        }
        List<PromptFile.Entry> entries;
        try {
            PromptFile.Contents read = PromptFile.read(file, strict);
            entries = read.entries();
            if (!read.ignoredFields().isEmpty()) {
                StringBuilder fields = new StringBuilder();
                read.ignoredFields().forEach((f, n) -> fields.append(fields.isEmpty() ? "" : ", ").append(f)
                        .append(" (").append(n).append(n == 1 ? " line)" : " lines)"));
                System.err.println("salsa prompts load: " + file + ": fields outside the prompt schema are not "
                        + "published: " + fields + "; put what the generators should carry under \"metadata\", "
                        + "or use --strict to refuse such lines");
            }
        } catch (PromptFile.BadLineException e) {
            return refuse(e.getMessage());
        } catch (IOException e) {
            return refuse("cannot read " + file + ": " + e.getMessage());
        }
        long published = PromptPublisher.publish(settings, entries, epochs);
        System.out.printf("published %d prompts (%d distinct x %d epochs) to %s%n", published, entries.size(),
                epochs, settings.topic(io.salsa.schemas.Topics.PROMPTS));
        return 0;
    }
}
