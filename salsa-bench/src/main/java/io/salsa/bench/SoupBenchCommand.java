package io.salsa.bench;

import io.salsa.model.lm.llama.LlamaShapes;
import io.salsa.model.safetensors.SafeTensorsWriter;
import io.salsa.model.safetensors.TensorSpec;
import io.salsa.model.soup.SoupConfig;
import io.salsa.model.soup.Soups;
import io.salsa.runtime.blob.Sha256;
import io.salsa.runtime.io.FileOps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code salsa bench soup}: soup throughput (GB/s of member weights read) next to the machine's plain array-copy
 * bandwidth measured in the same run, so the streaming design is judged against what memory allows.
 */
@Command(name = "soup", mixinStandardHelpOptions = true, modelTransformer = BenchOptions.Install.class,
        description = "Benchmark model-soup throughput against plain array-copy bandwidth (same run, same JVM).")
public final class SoupBenchCommand extends BenchCommand {

    @Option(names = "--size-mb", defaultValue = "256", description = "Size of each member's weights in MB (default: ${DEFAULT-VALUE}).")
    int sizeMb;

    @Option(names = "--members", defaultValue = "2", description = "Number of members K (default: ${DEFAULT-VALUE}).")
    int members;

    @Option(names = "--chunk", defaultValue = "65536", description = "Floats averaged per step (default: ${DEFAULT-VALUE}).")
    int chunk;

    @Option(names = "--shape", paramLabel = "NAME", description = "Instead of --size-mb: members shaped like a hub "
            + "checkpoint of a named shape (qwen2.5-0.5b, llama-3.2-1b, ...), bfloat16 in shards with an index, as the "
            + "hub ships them; measures the full soup against the floor of reading and sha256-ing the members' files.")
    String shape;

    @Option(names = "--shard-mb", defaultValue = "500",
            description = "With --shape: largest shard in MB (default: ${DEFAULT-VALUE}).")
    int shardMb;

    @Option(names = "--layers", paramLabel = "N",
            description = "With --shape: this many decoder layers instead of the shape's (same widths and vocabulary: a "
                    + "smaller checkpoint of the same kind, for a machine or a run that cannot afford the full one).")
    Integer layers;

    @Option(names = "--dir", description = "Scratch folder for the member files (default: a temporary folder, deleted after).")
    Path dir;

    public SoupBenchCommand() {
        super(BenchOptions.warmup("--warmup", 1, "Untimed soups before the timed ones (JIT and page cache)")
                .measured("--runs", 5, 1, 100, "Timed runs of each measurement"));
    }

    @Override
    public Integer call() throws Exception {
        String problem = sizeMb < 1 || sizeMb > 8192 || members < 1 || members > 16
                ? "--size-mb must be 1..8192, --members 1..16, --runs 1..100" : bench.problem();
        if (problem != null) {
            return bench.refuse(problem);
        }
        SoupConfig fast;
        try {
            fast = new SoupConfig(chunk, false, false);
        } catch (IllegalArgumentException e) {
            return bench.refuse("--chunk: " + e.getMessage());
        }
        int runs = bench.measured();
        if (shape != null) {
            if (!LlamaShapes.known(shape)) {
                return bench.refuse("--shape must be one of " + LlamaShapes.NAMES + ", got '" + shape + "'");
            }
            if (shardMb < 1) {
                return bench.refuse("--shard-mb must be >= 1, got " + shardMb);
            }
            if (layers != null && layers < 1) {
                return bench.refuse("--layers must be >= 1, got " + layers);
            }
            return againstFloor(runs);
        }
        try (Scratch scratch = Scratch.create("soup", dir)) {
            Path root = scratch.dir();
            List<Soups.Member> list = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int k = 0; k < members; k++) {
                list.add(Soups.Member.of(writeMember(root.resolve("member-" + k), k)));
            }
            System.out.printf("wrote %d members of %d MB in %.1f s (%s)%n", members, sizeMb,
                    (System.nanoTime() - t0) / 1e9, root);

            double copy = copyBandwidth(runs);
            double fileWrite = fileWriteBandwidth(root.resolve("write-probe.bin"), (long) sizeMb << 20, runs);
            List<Soups.Result> results = bench.repeat((measured, n, of) -> Soups.build(list, root.resolve("soup"), fast));
            double[] soup = results.stream().mapToDouble(Soups.Result::readBytesPerSecond).sorted().toArray();
            Soups.Result last = results.get(results.size() - 1);
            long f0 = System.nanoTime();
            Soups.Result full = Soups.build(list, root.resolve("soup-full"), SoupConfig.defaults());
            double fullSeconds = (System.nanoTime() - f0) / 1e9;
            double median = Stats.median(soup);
            System.out.printf("array copy (System.arraycopy, 256 MB float[]): %.2f GB/s%n", copy / 1e9);
            System.out.printf("soup K=%d, %d MB/member, %d tensors: median %.2f GB/s read (best %.2f, worst %.2f) "
                    + "= %.0f%% of copy bandwidth%n", members, sizeMb, last.tensors(), median / 1e9,
                    soup[runs - 1] / 1e9, soup[0] / 1e9, 100 * median / copy);
            System.out.printf("writing a new %d MB file (1 MB pwrites, no fsync): %.2f GB/s; the soup writes 1/K of what "
                    + "it reads, so this bounds it at %.2f GB/s read%n", sizeMb, fileWrite / 1e9, fileWrite * members / 1e9);
            System.out.printf("full soup incl. sha256 of members and soup, fsync, card: %.2f s for %.0f MB read "
                    + "(%.2f GB/s end to end)%n", fullSeconds, full.bytesRead() / 1e6, full.bytesRead() / fullSeconds / 1e9);
            ResultTable table = new ResultTable("soup").text("measurement", 40).number("value", 10, 2).text("unit", 4)
                    .row("array copy", copy / 1e9, "GB/s")
                    .row("soup read, median", median / 1e9, "GB/s")
                    .row("soup read, best", soup[runs - 1] / 1e9, "GB/s")
                    .row("soup read, worst", soup[0] / 1e9, "GB/s")
                    .row("soup median / copy bandwidth", median / copy, "ratio")
                    .row("new-file write", fileWrite / 1e9, "GB/s")
                    .row("full soup (sha256, fsync, card)", fullSeconds, "s");
            bench.save(table, System.out);
            return 0;
        }
    }

    /**
     * {@code --shape}: K bf16 sharded members; the floor is reading every file of every member and hashing it (what
     * any soup must do at least: read the members and verify them), the soup is {@link Soups#build} with its defaults
     * (sha256 of members and soup, output in the members' bf16, fsync, card). Both run on warm page caches,
     * alternating.
     */
    private int againstFloor(int runs) throws Exception {
        try (Scratch scratch = Scratch.create("soup", dir)) {
            Path root = scratch.dir();
            com.fasterxml.jackson.databind.node.ObjectNode config = LlamaShapes.json(shape);
            if (layers != null) {
                config.put("num_hidden_layers", layers);
            }
            Map<String, long[]> tensors = Bf16Members.tensors(config);
            List<Soups.Member> list = new ArrayList<>();
            long t0 = System.nanoTime();
            long bytes = 0;
            for (int k = 0; k < members; k++) {
                Path m = root.resolve("member-" + k);
                bytes += Bf16Members.write(m, config, tensors, (long) shardMb << 20, k);
                list.add(Soups.Member.of(m));
            }
            System.out.printf("wrote %d %s members (bf16, %.0f MB each, shards of <= %d MB) in %.1f s (%s)%n", members,
                    shape, bytes / 1e6 / members, shardMb, (System.nanoTime() - t0) / 1e9, root);
            List<double[]> pairs = bench.repeat((measured, n, of) -> {
                long c0 = processCpuNanos();
                long f0 = System.nanoTime();
                for (Soups.Member m : list) {
                    try (var files = Files.list(m.dir())) {
                        for (Path f : files.sorted().toList()) {
                            Sha256.of(f);
                        }
                    }
                }
                double floor = (System.nanoTime() - f0) / 1e9;
                double floorCpu = (processCpuNanos() - c0) / 1e9;
                Path out = root.resolve("soup");
                if (Files.exists(out)) {
                    FileOps.deleteTree(out);
                }
                long c1 = processCpuNanos();
                long s0 = System.nanoTime();
                Soups.build(list, out, SoupConfig.defaults());
                double soup = (System.nanoTime() - s0) / 1e9;
                double soupCpu = (processCpuNanos() - c1) / 1e9;
                System.out.printf("  %s %d/%d: floor %.2f s (CPU %.2f s), soup %.2f s (CPU %.2f s) (%.2fx)%n",
                        measured ? "run" : "warm-up", n, of, floor, floorCpu, soup, soupCpu, soup / floor);
                return new double[] {floor, soup, floorCpu, soupCpu};
            });
            double floor = Stats.median(pairs.stream().mapToDouble(p -> p[0]).sorted().toArray());
            double soup = Stats.median(pairs.stream().mapToDouble(p -> p[1]).sorted().toArray());
            double floorCpu = Stats.median(pairs.stream().mapToDouble(p -> p[2]).sorted().toArray());
            double soupCpu = Stats.median(pairs.stream().mapToDouble(p -> p[3]).sorted().toArray());
            System.out.printf("median of %d: floor %.2f s (CPU %.2f s), soup %.2f s (CPU %.2f s), soup / floor %.2fx%n",
                    pairs.size(), floor, floorCpu, soup, soupCpu, soup / floor);
            ResultTable table = new ResultTable("soup").text("measurement", 44).number("value", 10, 2).text("unit", 4)
                    .row("members' weights read (" + members + " x bf16)", bytes / 1e9, "GB")
                    .row("floor: read + sha256 every member file, median", floor, "s")
                    .row("full soup (sha256, bf16 out, fsync, card), median", soup, "s")
                    .row("soup / floor", soup / floor, "x")
                    .row("floor: process CPU time, median", floorCpu, "s")
                    .row("soup: process CPU time (all threads), median", soupCpu, "s");
            bench.save(table, System.out);
            return 0;
        }
    }

    /**
     * CPU time of the whole JVM so far (every thread, user and system): the work a run did, which the machine's
     * other jobs change much less than its wall time. The kernel's own writeback threads are not in it.
     */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** A GPT-2-like mix: large matrices, mid-size ones and small biases, filled with cheap pseudo-random floats. */
    private Path writeMember(Path memberDir, int seed) throws IOException {
        Files.createDirectories(memberDir);
        Files.writeString(memberDir.resolve(Soups.CONFIG_FILE), "{\"model_type\": \"gpt2\", \"n_embd\": 1024}");
        long target = (long) sizeMb << 20;
        List<TensorSpec> specs = new ArrayList<>();
        long bytes = 0;
        int[][] shapes = {{1024, 3072}, {1024}, {1024, 1024}, {1024, 4096}, {4096}, {4096, 1024}};
        for (int i = 0; bytes < target; i++) {
            int[] shape = shapes[i % shapes.length];
            long n = Arrays.stream(shape).asLongStream().reduce(1, (x, y) -> x * y);
            if (bytes + n * 4 > target) {
                shape = new int[] {(int) ((target - bytes) / 4)};
                n = shape[0];
                if (n == 0) {
                    break;
                }
            }
            specs.add(TensorSpec.of(String.format("layer.%04d", i), shape));
            bytes += n * 4;
        }
        try (SafeTensorsWriter w = SafeTensorsWriter.create(memberDir.resolve(Soups.MODEL_FILE), specs, Map.of("format", "pt"))) {
            int state = 0x9E3779B9 * (seed + 1);
            for (TensorSpec s : specs) {
                float[] data = new float[(int) s.numel()];
                for (int i = 0; i < data.length; i++) {
                    state = state * 1664525 + 1013904223;
                    data[i] = (state >> 8) * 0x1p-24f;
                }
                w.write(s.name(), data);
            }
            w.commitWithoutSync();
        }
        return memberDir;
    }

    /** Bytes copied per second by {@code System.arraycopy} of a 256 MB array, best of the runs. */
    private static double copyBandwidth(int runs) throws Exception {
        float[] src = new float[64 << 20];
        float[] dst = new float[src.length];
        Arrays.fill(src, 1f);
        List<Long> nanos = BenchOptions.repeat(1, runs, (measured, n, of) -> {
            long t = System.nanoTime();
            System.arraycopy(src, 0, dst, 0, src.length);
            return System.nanoTime() - t;
        });
        return (double) src.length * 4 / (nanos.stream().mapToLong(Long::longValue).min().orElseThrow() / 1e9);
    }

    /** Bytes per second written to a fresh file the way the soup writes its output, best of the runs. */
    private static double fileWriteBandwidth(Path file, long bytes, int runs) throws IOException {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocateDirect(1 << 20);
        double best = 0;
        for (int r = 0; r < runs; r++) {
            Files.deleteIfExists(file);
            long t = System.nanoTime();
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                    java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
                for (long pos = 0; pos < bytes; pos += buf.capacity()) {
                    buf.clear();
                    while (buf.hasRemaining()) {
                        ch.write(buf, pos + buf.position());
                    }
                }
            }
            best = Math.max(best, bytes / ((System.nanoTime() - t) / 1e9));
        }
        Files.deleteIfExists(file);
        return best;
    }
}
