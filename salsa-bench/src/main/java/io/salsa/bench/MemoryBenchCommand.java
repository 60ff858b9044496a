package io.salsa.bench;

import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.llama.LlamaShapes;
import io.salsa.runtime.cli.SalsaCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code salsa bench memory}: the computed memory table (weights, gradients, AdamW moments, soup reference,
 * activations) of Llama-family models, so the size a machine needs is known before a run is OOM-killed.
 */
@Command(name = "memory", mixinStandardHelpOptions = true,
        description = "Compute the training memory (weights, gradients, AdamW moments, soup reference, activations) "
                + "of Llama-family models, full fine-tuning or LoRA; computed from the config, nothing is allocated.")
public final class MemoryBenchCommand extends SalsaCommand {

    /** The shapes tabulated when no --model is given: 0.5B, 1.5B and two 7B. */
    static final List<String> DEFAULT_MODELS = List.of("qwen2.5-0.5b", "qwen2.5-1.5b", "qwen2.5-7b", "llama-2-7b");

    @Option(names = "--model", paramLabel = "NAME|DIR", description = "A named shape (${COMPLETION-CANDIDATES}) or a "
            + "Llama-family model folder (its config.json); repeatable (default: qwen2.5-0.5b, qwen2.5-1.5b, qwen2.5-7b, "
            + "llama-2-7b).", completionCandidates = ShapeNames.class)
    List<String> models;

    @Option(names = "--lora", paramLabel = "R", defaultValue = "0",
            description = "LoRA rank: train an adapter (+ the value head) instead of every weight; 0 = full (default: ${DEFAULT-VALUE}).")
    int lora;

    @Option(names = "--lora-targets", split = ",", paramLabel = "MODULE",
            description = "Modules --lora adapts (default: q_proj,v_proj; known: q_proj, k_proj, v_proj, o_proj, "
                    + "gate_proj, up_proj, down_proj).")
    List<String> loraTargets;

    @Option(names = "--batch", defaultValue = "8", description = "Sequences per training step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seq-len", defaultValue = "512", description = "Tokens per sequence (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--output", paramLabel = "FILE", description = "Also write the rows as CSV to FILE.")
    Path output;

    public MemoryBenchCommand() {
        super(BenchCommand.GROUP, BenchCommand.GROUP_DESCRIPTION);
    }

    @Override
    public Integer call() {
        try {
            if (lora < 0 || batch < 1 || seqLen < 1) {
                throw new IllegalArgumentException("--lora must be >= 0, --batch and --seq-len >= 1");
            }
            List<String> targets = loraTargets == null ? MemoryEstimate.DEFAULT_LORA_TARGETS : loraTargets;
            List<String> names = models == null ? DEFAULT_MODELS : models;
            ResultTable table = new ResultTable("memory").text("model", 16).text("component", 36).number("GB", 10, 2);
            System.out.printf(Locale.ROOT, "training memory, float32, batch %d × %d tokens, %s%n", batch, seqLen,
                    lora > 0 ? "LoRA r=" + lora + " on " + String.join(",", targets) + " + value head" : "full fine-tuning");
            for (String name : names) {
                LlamaConfig config = config(name);
                MemoryEstimate e = MemoryEstimate.of(config, lora, targets, batch, seqLen);
                String label = Path.of(name).getFileName().toString();
                System.out.printf(Locale.ROOT, "%s: %,d parameters with the value head, %,d trained%n", label,
                        e.parameters(), e.trainable());
                for (Map.Entry<String, Long> row : e.rows().entrySet()) {
                    table.row(label, row.getKey(), row.getValue() / 1e9);
                }
            }
            table.print(System.out);
            if (output != null) {
                table.writeCsv(output);
                System.out.println("results written to " + output);
            }
            return 0;
        } catch (IOException | IllegalArgumentException e) {
            return refuse(e);
        }
    }

    /** The config of a named shape or a Llama-family folder; anything else is refused naming the choices. */
    static LlamaConfig config(String model) throws IOException {
        if (LlamaShapes.known(model)) {
            return LlamaShapes.config(model);
        }
        Path dir = Path.of(model);
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--model " + model + " is neither a model folder nor a named shape ("
                    + String.join(", ", LlamaShapes.NAMES) + ")");
        }
        return LlamaConfig.load(dir);
    }

    /** The named shapes, for picocli's completion candidates. */
    static final class ShapeNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return LlamaShapes.NAMES.iterator();
        }
    }
}
