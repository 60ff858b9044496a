package io.salsa.bench;

import io.salsa.runtime.cli.SalsaSubcommand;
import java.util.concurrent.Callable;

/**
 * A {@code salsa bench …} command: it holds its {@link BenchOptions} so that {@link BenchOptions.Install} can add
 * them to its picocli model, and it sits in the launcher's one {@code bench} group with one group description.
 */
public abstract class BenchCommand implements Callable<Integer>, SalsaSubcommand {

    /** This command's shared bench options (warm-up, measured amount, results file, broker). */
    protected final BenchOptions bench;

    protected BenchCommand(BenchOptions bench) {
        this.bench = bench;
    }

    /** This command's shared bench options, for {@link BenchOptions.Install}. */
    public final BenchOptions bench() {
        return bench;
    }

    @Override
    public final String group() {
        return "bench";
    }

    @Override
    public final String groupDescription() {
        return "Benchmarks that print throughput numbers (measured and reported, never asserted).";
    }
}
