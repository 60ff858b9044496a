package io.salsa.bench;

import io.salsa.events.Rollout;
import io.salsa.schemas.Topics;
import io.salsa.schemas.registry.InMemorySchemaRegistry;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code salsa bench serde}: throughput of the registry serde on a Rollout, the largest hot-path event, so a
 * change to the serde or the schema shows up as a number rather than a guess.
 *
 * <p>The registry is asked once per run (ids are cached), so an in-memory registry measures exactly what every
 * record pays: Avro encoding/decoding plus the 5-byte wire-format header.
 */
@Command(name = "serde", mixinStandardHelpOptions = true, modelTransformer = BenchOptions.Install.class,
        description = "Serialize + deserialize throughput (records/s) of a Rollout in the schema-registry wire format.")
public final class SerdeBenchCommand extends BenchCommand {

    @Option(names = "--tokens", defaultValue = "256", description = "Response tokens per Rollout (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--records", defaultValue = "20000", description = "Records per iteration (default: ${DEFAULT-VALUE}).")
    int records;

    public SerdeBenchCommand() {
        super(BenchOptions.warmup("--warmup", 3, "Warm-up iterations, not counted")
                .measured("--iterations", 8, 2, Integer.MAX_VALUE, "Measured iterations (a spread needs two)"));
    }

    @Override
    public Integer call() throws Exception {
        String problem = tokens < 1 || tokens > 1_000_000 ? "--tokens must be 1-1000000, got " + tokens
                : records < 1 ? "--records must be >= 1, got " + records
                : bench.problem();
        if (problem != null) {
            return bench.refuse(problem);
        }
        bench.save(run(System.out), System.out);
        return 0;
    }

    /** Runs the benchmark, printing as it goes, and returns the summary rows. */
    ResultTable run(PrintStream out) throws Exception {
        int warmup = bench.warmup();
        int iterations = bench.measured();
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
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            boolean cpuTime = threads.isCurrentThreadCpuTimeSupported();
            long[] sink = {0};
            List<double[]> measured = bench.repeat((counted, number, of) -> {
                long t0 = System.nanoTime();
                long c0 = cpuTime ? threads.getCurrentThreadCpuTime() : 0;
                for (int i = 0; i < records; i++) {
                    sink[0] += serde.serialize(topic, rollout).length;
                }
                long t1 = System.nanoTime();
                long c1 = cpuTime ? threads.getCurrentThreadCpuTime() : 0;
                for (int i = 0; i < records; i++) {
                    sink[0] += serde.deserialize(topic, bytes).getResponseTokenIds().size();
                }
                long t2 = System.nanoTime();
                long c2 = cpuTime ? threads.getCurrentThreadCpuTime() : 0;
                // wall-clock rates, then rates per CPU-second of this thread (robust when other work shares the cores)
                double[] rates = {records / ((t1 - t0) / 1e9), records / ((t2 - t1) / 1e9),
                        records / ((t2 - t0) / 1e9), records / ((c1 - c0) / 1e9), records / ((c2 - c1) / 1e9),
                        records / ((c2 - c0) / 1e9)};
                out.printf("  %s %d/%d: serialize %,.0f/s  deserialize %,.0f/s  round trip %,.0f records/s%n",
                        counted ? "iteration" : "warm-up  ", number, of, rates[0], rates[1], rates[2]);
                return rates;
            });
            ResultTable table = new ResultTable("serde").text("measurement", 38).number("records/s mean", 10, 0)
                    .number("records/s sd", 8, 0).number("iterations", 3, 0).number("MB/s", 6, 1)
                    .number("records per CPU-second mean", 10, 0).number("records per CPU-second sd", 8, 0);
            String[] names = {"serialize", "deserialize", "round trip (serialize + deserialize)"};
            for (int k = 0; k < names.length; k++) {
                int col = k;
                double[] values = measured.stream().mapToDouble(r -> r[col]).toArray();
                double mean = Stats.mean(values);
                double sd = Stats.stddev(values, mean);
                out.printf("%-38s %,10.0f ± %,8.0f records/s (mean ± sd of %d)  = %6.1f MB/s%n", names[k], mean, sd,
                        values.length, mean * bytes.length / 1e6);
                double cpuMean = Double.NaN;
                double cpuSd = Double.NaN;
                if (cpuTime) {
                    double[] perCpu = measured.stream().mapToDouble(r -> r[col + 3]).toArray();
                    cpuMean = Stats.mean(perCpu);
                    cpuSd = Stats.stddev(perCpu, cpuMean);
                    out.printf("%-38s %,10.0f ± %,8.0f records per CPU-second of the benchmark thread%n", "",
                            cpuMean, cpuSd);
                }
                table.row(names[k], mean, sd, values.length, mean * bytes.length / 1e6, cpuMean, cpuSd);
            }
            if (sink[0] == 42) {
                out.println(); // keeps the JIT from discarding the loops
            }
            return table;
        }
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
