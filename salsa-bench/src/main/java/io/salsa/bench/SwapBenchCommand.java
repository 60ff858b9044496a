package io.salsa.bench;

import io.salsa.generator.GeneratorConfig;
import io.salsa.generator.ModelRolloutSampler;
import io.salsa.generator.RolloutSampler;
import io.salsa.generator.SamplingParams;
import io.salsa.model.lm.NativeArrays;
import io.salsa.runtime.cli.SalsaCommand;
import io.salsa.runtime.follow.LatestModelFollower;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code salsa bench swap}: the generator's weight hot swap and generation in a loop in one JVM (a loader thread
 * opens each checkpoint folder while the generation thread samples a batch, then the old sampler is closed), with
 * RSS, live native arrays, direct buffers and mapped files sampled as it goes: a native leak per swap or per batch
 * shows as a slope here within minutes instead of an hour of soak.
 */
@Command(name = "swap", mixinStandardHelpOptions = true,
        description = "Loop the rollout generator's weight hot swap (load on a loader thread, generate, close the old "
                + "model) and report RSS, live native arrays, direct buffers and mapped files per swap, with their "
                + "slopes over the second half of the run. Run it with MALLOC_ARENA_MAX set or not to compare "
                + "allocators.")
public final class SwapBenchCommand extends SalsaCommand {

    @Option(names = "--model", defaultValue = "small", paramLabel = "NAME|DIR",
            description = "A model folder or a named shape (small, gpt2-124m, Llama shapes) (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "A tokenizer.json copied into every checkpoint folder, so each swap also loads the native "
                    + "tokenizer as the soak's checkpoints do (default: none).")
    Path tokenizer;

    @Option(names = "--swaps", defaultValue = "2000", description = "Weight swaps (default: ${DEFAULT-VALUE}).")
    int swaps;

    @Option(names = "--batches-per-swap", defaultValue = "1",
            description = "Batches generated with each checkpoint (default: ${DEFAULT-VALUE}).")
    int batchesPerSwap;

    @Option(names = "--batch", defaultValue = "16", description = "Sequences per batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--max-new-tokens", defaultValue = "16",
            description = "Response length limit (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--sample-every", defaultValue = "100",
            description = "Swaps between two samples (default: ${DEFAULT-VALUE}).")
    int sampleEvery;

    @Option(names = "--output", paramLabel = "FILE", description = "Also write the samples as CSV to FILE.")
    Path output;

    public SwapBenchCommand() {
        super(BenchCommand.GROUP, BenchCommand.GROUP_DESCRIPTION);
    }

    /** One sample of the process. */
    record Sample(int swap, double seconds, double rssMb, int liveArrays, double directMb, int mappedFiles,
                  double heapUsedMb) {
    }

    @Override
    public Integer call() throws Exception {
        if (swaps < 2 || batchesPerSwap < 1 || batch < 1 || maxNewTokens < 1 || sampleEvery < 1) {
            return refuse("--swaps must be >= 2; --batches-per-swap, --batch, --max-new-tokens and --sample-every "
                    + ">= 1");
        }
        if (tokenizer != null && !Files.isRegularFile(tokenizer)) {
            return refuse("--tokenizer " + tokenizer + " is not a file");
        }
        if (!BenchModels.named(model) && !Files.isDirectory(Path.of(model))) {
            return refuse("--model " + model + " is neither a model folder nor a named shape ("
                    + String.join(", ", BenchModels.names()) + ")");
        }
        try (Scratch scratch = Scratch.create("swap")) {
            // two folders used in turn, as the generator's weights cache keeps the one in use and the one loading
            Path first = BenchModels.folder(model, scratch.dir());
            List<Path> folders = List.of(copy(first, scratch.resolve("ckpt-a")), copy(first, scratch.resolve("ckpt-b")));
            BenchModels.Shape shape = BenchModels.shape(first.toString());
            System.out.printf(Locale.ROOT, "swap bench: %s (%d layers × %d, vocab %d), %d swaps, %d batch(es) of %d "
                    + "× %d new tokens per swap, tokenizer %s, MALLOC_ARENA_MAX=%s%n", model, shape.layers(),
                    shape.hidden(), shape.vocab(), swaps, batchesPerSwap, batch, maxNewTokens,
                    tokenizer == null ? "none" : tokenizer, System.getenv().getOrDefault("MALLOC_ARENA_MAX", "(unset)"));
            List<Sample> samples = run(folders, shape.vocab());
            ResultTable table = new ResultTable("swap").number("swap", 7, 0).number("seconds", 9, 1)
                    .number("rss_mb", 9, 1).number("live_arrays", 12, 0).number("direct_mb", 10, 1)
                    .number("mapped_files", 13, 0).number("heap_used_mb", 13, 1);
            for (Sample s : samples) {
                table.row((double) s.swap(), s.seconds(), s.rssMb(), (double) s.liveArrays(), s.directMb(), (double) s.mappedFiles(),
                        s.heapUsedMb());
            }
            table.print(System.out);
            List<Sample> half = samples.subList(samples.size() / 2, samples.size());
            System.out.printf(Locale.ROOT, "second half (swaps %d–%d): RSS %+.1f MB per 1000 swaps (%+.1f MB/h at "
                    + "1.6 swaps/s), live arrays %+.1f per 1000 swaps, direct %+.1f MB per 1000 swaps%n",
                    half.get(0).swap(), half.get(half.size() - 1).swap(),
                    1000 * slope(half, Sample::rssMb), 1.6 * 3600 * slope(half, Sample::rssMb),
                    1000 * slope(half, s -> s.liveArrays()), 1000 * slope(half, Sample::directMb));
            if (output != null) {
                table.writeCsv(output);
                System.out.println("results written to " + output);
            }
        }
        return 0;
    }

    private List<Sample> run(List<Path> folders, int vocab) throws Exception {
        SamplingParams params = new SamplingParams(1f, 0, 1f, maxNewTokens);
        List<RolloutSampler.Request> requests = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            int[] prompt = new int[4 + i % 5];
            for (int t = 0; t < prompt.length; t++) {
                prompt[t] = 2 + (i * 31 + t * 7) % (vocab - 2);
            }
            requests.add(new RolloutSampler.Request(prompt, i));
        }
        List<Sample> samples = new ArrayList<>();
        long start = System.nanoTime();
        try (LatestModelFollower<Integer, RolloutSampler> follower = new LatestModelFollower<>("swap-bench",
                v -> "checkpoint " + v, LatestModelFollower.byVersion(v -> v, -1),
                v -> ModelRolloutSampler.open(folders.get(v % 2), GeneratorConfig.Device.CPU))) {
            follower.offer(0);
            RolloutSampler current = follower.await(Duration.ofMinutes(5)).model();
            try {
                for (int swap = 1; swap <= swaps; swap++) {
                    follower.offer(swap); // loads on the follower's thread while this one generates
                    for (int b = 0; b < batchesPerSwap; b++) {
                        current.sample(requests, params);
                    }
                    LatestModelFollower.Loaded<Integer, RolloutSampler> next = follower.await(Duration.ofMinutes(5));
                    if (next == null) {
                        throw new IllegalStateException("checkpoint " + swap + " did not load within 5 minutes");
                    }
                    current.close();
                    current = next.model();
                    if (swap % sampleEvery == 0 || swap == swaps) {
                        Sample s = sample(swap, (System.nanoTime() - start) / 1e9);
                        samples.add(s);
                        System.err.printf(Locale.ROOT, "  swap %d: RSS %.1f MB, %d live arrays%n", swap, s.rssMb(),
                                s.liveArrays());
                    }
                }
            } finally {
                current.close();
            }
        }
        return samples;
    }

    private static Sample sample(int swap, double seconds) throws IOException {
        double rss = -1;
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                rss = Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        long mapped = Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .filter(l -> l.contains(".safetensors") || l.contains("tokenizer.json")).count();
        double direct = 0;
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                direct = pool.getMemoryUsed() / 1048576.0;
            }
        }
        double heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / 1048576.0;
        return new Sample(swap, seconds, rss, NativeArrays.live(), direct, (int) mapped, heap);
    }

    /** Least-squares slope of {@code y} per swap. */
    private static double slope(List<Sample> samples, java.util.function.ToDoubleFunction<Sample> y) {
        return Stats.slope(samples.stream().mapToDouble(Sample::swap).toArray(),
                samples.stream().mapToDouble(y).toArray());
    }

    private Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        if (tokenizer != null) {
            Files.copy(tokenizer, to.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
        }
        return to;
    }
}
