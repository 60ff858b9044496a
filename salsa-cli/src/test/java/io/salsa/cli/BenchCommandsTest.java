package io.salsa.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The launcher's {@code salsa bench} group: the ten benches from salsa-bench, with the flags the READMEs show. */
class BenchCommandsTest {

    private static final Map<String, List<String>> DOCUMENTED_FLAGS = Map.of(
            "serde", List.of("--tokens", "--records", "--warmup", "--iterations"),
            "model", List.of("--config", "--batch", "--new-tokens", "--prompt-length", "--repeats", "--train-steps",
                    "--device", "--threads"),
            "soup", List.of("--size-mb", "--members", "--runs", "--chunk", "--dir"),
            "ingest", List.of("--bootstrap", "--connections", "--seconds", "--warmup-seconds"),
            "scorer", List.of("--threads", "--rollouts", "--warmup", "--bootstrap", "--config", "--batch-size"),
            "generator", List.of("--model", "--batch-sizes", "--batches", "--prompt-tokens", "--max-new-tokens"),
            "learner", List.of("--model", "--batch", "--query-len", "--response-len", "--device", "--mixed-precision",
                    "--steps", "--lora"),
            "reload", List.of("--model", "--lora", "--batch", "--prompt-tokens", "--max-new-tokens", "--versions"),
            "memory", List.of("--model", "--lora", "--lora-targets", "--batch", "--seq-len"),
            "swap", List.of("--model", "--tokenizer", "--swaps", "--batches-per-swap", "--batch", "--sample-every"));

    @Test
    void shouldListAllTenBenchCommandsInBenchHelp() {
        CommandLine salsa = Salsa.commandLine();
        StringWriter out = new StringWriter();
        salsa.setOut(new PrintWriter(out, true));
        assertEquals(0, salsa.execute("bench", "--help"));
        String help = out.toString();
        for (String name : DOCUMENTED_FLAGS.keySet()) {
            assertTrue(help.lines().anyMatch(l -> l.strip().startsWith(name + " ")), name + " missing in:\n" + help);
        }
        assertEquals(DOCUMENTED_FLAGS.keySet(), Set.copyOf(salsa.getSubcommands().get("bench").getSubcommands().keySet()));
    }

    @Test
    void shouldKeepEveryDocumentedFlagAndOfferAResultsFile() {
        CommandLine bench = Salsa.commandLine().getSubcommands().get("bench");
        DOCUMENTED_FLAGS.forEach((name, flags) -> {
            CommandLine.Model.CommandSpec spec = bench.getSubcommands().get(name).getCommandSpec();
            for (String flag : flags) {
                assertNotNull(spec.findOption(flag), "salsa bench " + name + " " + flag);
            }
            assertNotNull(spec.findOption("--output"), "salsa bench " + name + " --output");
        });
    }
}
