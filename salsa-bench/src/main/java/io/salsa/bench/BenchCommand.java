package io.salsa.bench;

import io.salsa.runtime.cli.SalsaCommand;

/**
 * A {@code salsa bench …} command: it holds its {@link BenchOptions} so that {@link BenchOptions.Install} can add
 * them to its picocli model, and it sits in the launcher's one {@code bench} group with one group description.
 */
public abstract class BenchCommand extends SalsaCommand {

    /** The launcher group of every bench, and its description. */
    static final String GROUP = "bench";
    static final String GROUP_DESCRIPTION = "Benchmarks that print throughput numbers (measured and reported, never asserted).";

    /** This command's shared bench options (warm-up, measured amount, results file, broker). */
    protected final BenchOptions bench;

    /** A bench with {@code options}, named as its {@code @Command}. */
    protected BenchCommand(BenchOptions.Builder options) {
        super(GROUP, GROUP_DESCRIPTION);
        this.bench = options.build(name());
    }

    /** This command's shared bench options, for {@link BenchOptions.Install}. */
    public final BenchOptions bench() {
        return bench;
    }
}
