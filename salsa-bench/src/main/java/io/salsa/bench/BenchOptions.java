package io.salsa.bench;

import io.salsa.runtime.cli.OptionSlot;
import io.salsa.runtime.cli.SalsaCommand;
import io.salsa.schemas.KafkaClientConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import picocli.CommandLine.IModelTransformer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The options every {@code salsa bench} command shares, as one picocli mixin, and the loops they drive: how much
 * to run unmeasured first (warm-up), how much to measure (iterations, runs, rollouts or seconds), a file for the
 * results, and, for the benches that need Kafka, {@code --bootstrap} or an in-process broker.
 *
 * <p>The two amounts keep the flag names each bench's README documents ({@code --iterations} for serde,
 * {@code --runs} for soup, {@code --seconds} for ingest …), so the mixin is built per command rather than from
 * fixed annotations; {@link Install} adds it to the command's picocli model when the command line is created.
 */
public final class BenchOptions {

    /** Where a bench finds Kafka when {@code --bootstrap} is not given. */
    public enum Kafka {
        /** The bench needs no broker and has no {@code --bootstrap} flag. */
        NONE,
        /** An in-process broker in the bench's scratch folder. */
        EMBEDDED,
        /** {@code $SALSA_KAFKA_BOOTSTRAP} (with its topic prefix and registry), else an in-process broker. */
        ENVIRONMENT_ELSE_EMBEDDED
    }

    /** The name under which the mixin appears in the command's picocli model. */
    public static final String MIXIN_NAME = "bench";
    /** How often a {@link ProgressLine} prints. */
    static final Duration PROGRESS_EVERY = Duration.ofSeconds(2);

    private final String command;
    private final Amount warmup;
    private final Amount measured;
    private final Kafka kafka;
    private final OptionSlot warmupValue;
    private final OptionSlot measuredValue;
    private final OptionSlot output = new OptionSlot(null);
    private final OptionSlot bootstrap = new OptionSlot(null);
    private final CommandSpec mixin;

    /** One of the two amounts: its flag, default and allowed range, and what it counts. */
    private record Amount(String option, int defaultValue, int min, int max, String description) {
        String problem(int value) {
            if (value >= min && value <= max) {
                return null;
            }
            String range = max == Integer.MAX_VALUE ? "must be >= " + min : "must be " + min + "-" + max;
            return option + " " + range + ", got " + value;
        }
    }

    private BenchOptions(Builder b, String command) {
        this.command = Objects.requireNonNull(command, "command");
        this.warmup = Objects.requireNonNull(b.warmup, "warm-up amount");
        this.measured = Objects.requireNonNull(b.measured, "measured amount");
        this.kafka = b.kafka;
        this.warmupValue = new OptionSlot(warmup.defaultValue());
        this.measuredValue = new OptionSlot(measured.defaultValue());
        this.mixin = CommandSpec.wrapWithoutInspection(this);
        mixin.addOption(amountOption(warmup, warmupValue));
        mixin.addOption(amountOption(measured, measuredValue));
        mixin.addOption(OptionSpec.builder("--output").type(Path.class).paramLabel("FILE")
                .description("Also write the results to this CSV file (a header, then one row per result).")
                .getter(output).setter(output).build());
        if (kafka != Kafka.NONE) {
            mixin.addOption(OptionSpec.builder("--bootstrap").type(String.class).paramLabel("HOST:PORT")
                    .description(kafka == Kafka.EMBEDDED
                            ? "Use this Kafka instead of starting an in-process broker."
                            : "Kafka bootstrap servers (default: $SALSA_KAFKA_BOOTSTRAP, else an in-process broker).")
                    .getter(bootstrap).setter(bootstrap).build());
        }
    }

    private static OptionSpec amountOption(Amount a, OptionSlot slot) {
        return OptionSpec.builder(a.option()).type(int.class).paramLabel("N")
                .defaultValue(Integer.toString(a.defaultValue()))
                .description(a.description() + " (default: ${DEFAULT-VALUE}).")
                .getter(slot).setter(slot).build();
    }

    /**
     * Starts a bench's options with its warm-up amount: its flag, default (at least 0) and what it counts, e.g.
     * "Warm-up iterations, not counted".
     */
    public static Builder warmup(String option, int defaultValue, String description) {
        Builder b = new Builder();
        b.warmup = new Amount(option, defaultValue, 0, Integer.MAX_VALUE, description);
        return b;
    }

    /** The command's name under {@code salsa bench}. */
    public String command() {
        return command;
    }

    /** The warm-up amount (unmeasured iterations, runs, rollouts or seconds). */
    public int warmup() {
        return warmupValue.get();
    }

    /** The measured amount (iterations, runs, rollouts or seconds). */
    public int measured() {
        return measuredValue.get();
    }

    /** The results file, if one was asked for. */
    public Optional<Path> output() {
        return Optional.ofNullable(output.get());
    }

    /** The picocli mixin holding these options. */
    public CommandSpec mixin() {
        return mixin;
    }

    /** What is wrong with the two amounts, naming the flag, or {@code null} when both are in range. */
    public String problem() {
        String p = warmup.problem(warmup());
        return p != null ? p : measured.problem(measured());
    }

    /** Prints {@code salsa bench <command>: problem} on stderr and returns exit code 2 (bad input). */
    public int refuse(String problem) {
        System.err.println("salsa bench " + command + ": " + problem);
        return 2;
    }

    /** {@link #refuse(String)} with the message of a bad-input exception (a missing file is named as such). */
    public int refuse(Exception e) {
        return refuse(SalsaCommand.message(e));
    }

    /** One pass of a warm-up-then-measure loop. */
    @FunctionalInterface
    public interface Iteration<T> {
        /**
         * Runs pass {@code number} (1-based) of {@code of} in its phase.
         *
         * @param measured whether this pass counts (false during the warm-up)
         */
        T run(boolean measured, int number, int of) throws Exception;
    }

    /** Runs {@link #warmup()} unmeasured passes, then {@link #measured()} passes, and returns the measured results. */
    public <T> List<T> repeat(Iteration<T> pass) throws Exception {
        return repeat(warmup(), measured(), pass);
    }

    /** {@link #repeat(Iteration)} with explicit amounts (for a bench that repeats a second measurement). */
    public static <T> List<T> repeat(int warmup, int measured, Iteration<T> pass) throws Exception {
        for (int i = 1; i <= warmup; i++) {
            pass.run(false, i, warmup);
        }
        List<T> results = new ArrayList<>(measured);
        for (int i = 1; i <= measured; i++) {
            results.add(pass.run(true, i, measured));
        }
        return results;
    }

    /** Work whose duration a bench measures. */
    @FunctionalInterface
    public interface Work {
        void run() throws Exception;
    }

    /** Seconds of the fastest of {@link #measured()} runs of {@code work}, after {@link #warmup()} unmeasured ones. */
    public double bestSeconds(Work work) throws Exception {
        List<Long> nanos = repeat((measured, n, of) -> {
            long t0 = System.nanoTime();
            work.run();
            return System.nanoTime() - t0;
        });
        return nanos.stream().mapToLong(Long::longValue).min().orElseThrow() / 1e9;
    }

    /**
     * The broker this bench runs against: {@code --bootstrap}, or (for {@link Kafka#ENVIRONMENT_ELSE_EMBEDDED})
     * {@code $SALSA_KAFKA_BOOTSTRAP}, else a new in-process broker in {@code scratch}.
     *
     * @param log where to say that an in-process broker is starting
     * @throws IllegalArgumentException for an unusable address or environment (a bad-input error)
     */
    public BenchBroker broker(Path scratch, Map<String, String> env, Consumer<String> log) throws IOException {
        if (kafka == Kafka.NONE) {
            throw new IllegalStateException("salsa bench " + command + " declared no broker");
        }
        String servers = bootstrap.get();
        if (servers != null) {
            // a bench of its own topics still logs in as the deployment does (SALSA_KAFKA_CONFIG, SALSA_KAFKA_*)
            return BenchBroker.external(servers, kafka == Kafka.ENVIRONMENT_ELSE_EMBEDDED ? env
                    : KafkaClientConfig.variables(env));
        }
        if (kafka == Kafka.ENVIRONMENT_ELSE_EMBEDDED && BenchBroker.configured(env)) {
            return BenchBroker.external(null, env);
        }
        log.accept("starting an in-process Kafka broker ...");
        return BenchBroker.embedded(scratch.resolve("kafka"));
    }

    /**
     * {@link #broker}, or empty once an unusable address or environment was {@link #refuse(Exception) refused} on
     * stderr: the command then exits with {@link SalsaCommand#EXIT_BAD_INPUT}.
     */
    public Optional<BenchBroker> brokerOrRefuse(Path scratch, Map<String, String> env, Consumer<String> log)
            throws IOException {
        try {
            return Optional.of(broker(scratch, env, log));
        } catch (IllegalArgumentException e) {
            refuse(e);
            return Optional.empty();
        }
    }

    /** A progress line on stderr (stdout keeps the results) for {@code total} units of work. */
    public ProgressLine progress(String verb, long total, String unit) {
        return ProgressLine.counting(System.err::println, verb, total, unit, PROGRESS_EVERY, System::nanoTime);
    }

    /** A progress line on stderr for work that runs until {@code deadlineNanos} ({@link System#nanoTime()}). */
    public ProgressLine progressUntil(String verb, long deadlineNanos, String unit) {
        return ProgressLine.untilDeadline(System.err::println, verb, deadlineNanos, unit, PROGRESS_EVERY,
                System::nanoTime);
    }

    /** Writes {@code table} to the {@code --output} file, if one was given, and says so on {@code out}. */
    public void save(ResultTable table, PrintStream out) throws IOException {
        Optional<Path> file = output();
        if (file.isPresent()) {
            table.writeCsv(file.get());
            out.println("results written to " + file.get());
        }
    }

    /** Builds the options of one bench command; {@link BenchCommand} builds them under the command's name. */
    public static final class Builder {
        private Amount warmup;
        private Amount measured;
        private Kafka kafka = Kafka.NONE;

        private Builder() {
        }

        /** The measured amount: its flag, default and allowed range, and what it counts. */
        public Builder measured(String option, int defaultValue, int min, int max, String description) {
            measured = new Amount(option, defaultValue, min, max, description);
            return this;
        }

        /** {@link #measured(String, int, int, int, String)} of at least 1, with no upper bound. */
        public Builder measured(String option, int defaultValue, String description) {
            return measured(option, defaultValue, 1, Integer.MAX_VALUE, description);
        }

        /** Gives the bench a {@code --bootstrap} flag with this fallback. */
        public Builder kafka(Kafka fallback) {
            kafka = Objects.requireNonNull(fallback, "fallback");
            return this;
        }

        /** The options of {@code salsa bench <command>}. */
        public BenchOptions build(String command) {
            return new BenchOptions(this, command);
        }
    }

    /**
     * Adds a {@link BenchCommand}'s options to its picocli model when its {@code CommandLine} is created
     * (name it in {@code @Command(modelTransformer = BenchOptions.Install.class)}).
     */
    public static final class Install implements IModelTransformer {
        @Override
        public CommandSpec transform(CommandSpec spec) {
            if (!(spec.userObject() instanceof BenchCommand bench)) {
                throw new IllegalStateException(spec.userObject() + " is not a BenchCommand");
            }
            spec.addMixin(MIXIN_NAME, bench.bench().mixin());
            return spec;
        }
    }
}
