package io.salsa.bench;

import io.salsa.runtime.cli.SalsaSubcommand;

/**
 * A {@code salsa bench …} command: it exposes its {@link BenchOptions} so that {@link BenchOptions.Install} can add
 * them to its picocli model, and it sits in the launcher's one {@code bench} group with one group description.
 */
public interface BenchCommand extends SalsaSubcommand {

    /** This command's shared bench options (warm-up, measured amount, results file, broker). */
    BenchOptions bench();

    @Override
    default String group() {
        return "bench";
    }

    @Override
    default String groupDescription() {
        return "Benchmarks that print throughput numbers (measured and reported, never asserted).";
    }
}
