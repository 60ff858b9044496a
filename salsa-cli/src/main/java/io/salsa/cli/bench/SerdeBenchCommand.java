package io.salsa.cli.bench;

import io.salsa.runtime.cli.SalsaSubcommand;
import io.salsa.events.Rollout;
import io.salsa.schemas.Topics;
import io.salsa.schemas.registry.InMemorySchemaRegistry;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code salsa bench serde}: throughput of the registry serde on a Rollout, the largest hot-path event, so a
 * change to the serde or the schema shows up as a number rather than a guess.
 *
 * <p>The registry is asked once per run (ids are cached), so an in-memory registry measures exactly what every
 * record pays: Avro encoding/decoding plus the 5-byte wire-format header.
 */
@Command(name = "serde", mixinStandardHelpOptions = true,
        description = "Serialize + deserialize throughput (records/s) of a Rollout in the schema-registry wire format.")
public final class SerdeBenchCommand implements Callable<Integer>, SalsaSubcommand {

    @Option(names = "--tokens", defaultValue = "256", description = "Response tokens per Rollout (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--records", defaultValue = "20000", description = "Records per iteration (default: ${DEFAULT-VALUE}).")
    int records;

    @Option(names = "--warmup", defaultValue = "3", description = "Warm-up iterations, not counted (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--iterations", defaultValue = "8", description = "Measured iterations (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Override
    public String group() {
        return "bench";
    }

    @Override
    public String groupDescription() {
        return "Benchmarks that print throughput numbers.";
    }

    @Override
    public Integer call() {
        String problem = tokens < 1 || tokens > 1_000_000 ? "--tokens must be 1-1000000, got " + tokens
                : records < 1 ? "--records must be >= 1, got " + records
                : warmup < 0 ? "--warmup must be >= 0, got " + warmup
                : iterations < 2 ? "--iterations must be >= 2 (a spread needs two), got " + iterations
                : null;
        if (problem != null) {
            System.err.println("salsa bench serde: " + problem);
            return 2;
        }
        run(System.out);
        return 0;
    }

    void run(PrintStream out) {
        Rollout rollout = rollout(tokens);
        String topic = Topics.ROLLOUTS.name("");
        try (InMemorySchemaRegistry registry = new InMemorySchemaRegistry()) {
            RegistryAvroSerde<Rollout> serde = new RegistryAvroSerde<>(registry, Rollout.class);
            byte[] bytes = serde.serialize(topic, rollout);
            if (!rollout.equals(serde.deserialize(topic, bytes))) {
                throw new IllegalStateException("the serde does not round-trip a Rollout; refusing to benchmark it");
            }
            out.printf("Rollout with %d response tokens: %d bytes on the wire; %d records per iteration, "
                    + "%d warm-up + %d measured iterations%n", tokens, bytes.length, records, warmup, iterations);
            List<double[]> measured = new ArrayList<>();
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            boolean cpuTime = threads.isCurrentThreadCpuTimeSupported();
            long sink = 0;
            for (int it = 0; it < warmup + iterations; it++) {
                long t0 = System.nanoTime();
                long c0 = cpuTime ? threads.getCurrentThreadCpuTime() : 0;
                for (int i = 0; i < records; i++) {
                    sink += serde.serialize(topic, rollout).length;
                }
                long t1 = System.nanoTime();
                long c1 = cpuTime ? threads.getCurrentThreadCpuTime() : 0;
                for (int i = 0; i < records; i++) {
                    sink += serde.deserialize(topic, bytes).getResponseTokenIds().size();
                }
                long t2 = System.nanoTime();
                long c2 = cpuTime ? threads.getCurrentThreadCpuTime() : 0;
                // wall-clock rates, then rates per CPU-second of this thread (robust when other work shares the cores)
                double[] rates = {records / ((t1 - t0) / 1e9), records / ((t2 - t1) / 1e9),
                        records / ((t2 - t0) / 1e9), records / ((c1 - c0) / 1e9), records / ((c2 - c1) / 1e9),
                        records / ((c2 - c0) / 1e9)};
                boolean counted = it >= warmup;
                if (counted) {
                    measured.add(rates);
                }
                out.printf("  %s %d/%d: serialize %,.0f/s  deserialize %,.0f/s  round trip %,.0f records/s%n",
                        counted ? "iteration" : "warm-up  ", counted ? it - warmup + 1 : it + 1,
                        counted ? iterations : warmup, rates[0], rates[1], rates[2]);
            }
            String[] names = {"serialize", "deserialize", "round trip (serialize + deserialize)"};
            for (int k = 0; k < names.length; k++) {
                int col = k;
                double[] values = measured.stream().mapToDouble(r -> r[col]).toArray();
                double mean = mean(values);
                double sd = stddev(values, mean);
                out.printf("%-38s %,10.0f ± %,8.0f records/s (mean ± sd of %d)  = %6.1f MB/s%n", names[k], mean, sd,
                        values.length, mean * bytes.length / 1e6);
                if (cpuTime) {
                    double[] perCpu = measured.stream().mapToDouble(r -> r[col + 3]).toArray();
                    double cpuMean = mean(perCpu);
                    out.printf("%-38s %,10.0f ± %,8.0f records per CPU-second of the benchmark thread%n", "",
                            cpuMean, stddev(perCpu, cpuMean));
                }
            }
            if (sink == 42) {
                out.println(); // keeps the JIT from discarding the loops
            }
        }
    }

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    static double stddev(double[] v, double mean) {
        double s = 0;
        for (double x : v) {
            s += (x - mean) * (x - mean);
        }
        return Math.sqrt(s / (v.length - 1));
    }

    /** A realistic Rollout: GPT-2-sized token ids, one log-prob per token, texts for raters. */
    static Rollout rollout(int tokens) {
        java.util.Random random = new java.util.Random(7);
        List<Integer> ids = new ArrayList<>(tokens);
        List<Float> logProbs = new ArrayList<>(tokens);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < tokens; i++) {
            ids.add(random.nextInt(50257));
            logProbs.add((float) -random.nextDouble() * 4f);
            text.append("tok ");
        }
        return Rollout.newBuilder().setRolloutId("gen-0/prompt-000123/0/17").setPromptId("prompt-000123")
                .setPromptTokenIds(ids.subList(0, Math.min(32, tokens))).setResponseTokenIds(ids)
                .setBehaviourLogProbs(logProbs).setStoppedAtEos(true).setPolicyRunId("run-1").setPolicyVersion(17)
                .setGeneratorId("gen-0").setSampleIndex(0).setSeed(1234).setTemperature(1.0f).setTopK(0)
                .setTopP(1.0f).setPromptText("Write a short story about a cat.").setResponseText(text.toString())
                .setGenerationMs(950).setCreatedAtMs(1_700_000_000_000L).build();
    }
}
