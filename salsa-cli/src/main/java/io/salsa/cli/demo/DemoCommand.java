package io.salsa.cli.demo;

import io.salsa.broker.EmbeddedKafkaBroker;
import io.salsa.cli.report.MetricsLog;
import io.salsa.cli.report.ReportWriter;
import io.salsa.cli.report.ResultsTable;
import io.salsa.cli.report.RunResults;
import io.salsa.cli.report.StepMetrics;
import io.salsa.model.lm.Devices;
import io.salsa.runtime.cli.SalsaSubcommand;
import io.salsa.runtime.io.FileOps;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code salsa demo}: the whole SALSA chain on the embedded default (a real Kafka broker in {@code DIR/kafka},
 * the embedded schema registry), every service in this process as in production, ending with a report.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run the whole SALSA chain on an embedded Kafka broker, no Docker and no network:",
                "pretrain a tiny base model -> K SFT models -> soup -> simulated raters through the HTTP API ->",
                "reward model -> rollout generators + reward scorer + PPO learner (the SALSA loop) -> report.",
                "Re-running resumes after the last finished stage; Ctrl-C stops cleanly."})
public final class DemoCommand implements Callable<Integer>, SalsaSubcommand {

    /** Folders the demo creates inside DIR; --fresh deletes exactly these. */
    static final List<String> OWNED = List.of("kafka", "stages", "blobs", "cache", "models", "services", "run");
    /** The file in {@code DIR/stages} naming the run's base architecture ({@code --model}). */
    static final String MODEL_FILE = "model.txt";
    /** The file in {@code DIR/stages} naming what the run's loop is rewarded by ({@code --reward}). */
    static final String REWARD_FILE = "reward.txt";

    @Option(names = "--dir", defaultValue = "salsa-data",
            description = "Where broker data, checkpoints and the report go (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--quick", description = "The small profile the test suite runs (about 2 minutes).")
    boolean quick;

    @Option(names = "--fresh", description = "Start over: delete this demo's folders in DIR first.")
    boolean fresh;

    @Option(names = "--steps", description = "PPO steps of the SALSA loop (default: the profile's).")
    Integer steps;

    @Option(names = "--model", defaultValue = "gpt2", paramLabel = "gpt2|llama",
            description = "Base architecture every stage runs on: gpt2, or llama (a Llama-style decoder: RMSNorm, "
                    + "RoPE, SwiGLU, grouped-query attention), both 2 layers x 128 wide (default: ${DEFAULT-VALUE}). "
                    + "Recorded in DIR: a resumed run must use the same one.")
    String model;

    @Option(names = "--reward", defaultValue = "model", paramLabel = "model|oracle",
            description = "What the loop's reward scorer serves: model, the reward model trained from the raters' "
                    + "preferences, or oracle, the simulated rater itself (an ablation: how far the loop's RL moves "
                    + "the policy when the reward is exactly right; the reward model is still trained and reported). "
                    + "Recorded in DIR (default: ${DEFAULT-VALUE}).")
    String reward;

    @Option(names = "--seed", description = "Seed of the built-in task's world, its splits and every stage that "
            + "samples (default: the profile's).")
    Long seed;

    @Option(names = "--threads", defaultValue = "1",
            description = "PyTorch CPU threads (default: ${DEFAULT-VALUE}; more only helps on an idle machine).")
    int threads;

    @Option(names = "--keep-open", description = "After the report, keep the broker and rater page running "
            + "until Ctrl-C.")
    boolean keepOpen;

    @Override
    public Integer call() throws Exception {
        DemoProfile profile;
        try {
            profile = quick ? DemoProfile.quick() : DemoProfile.standard();
            if (steps != null) {
                profile = profile.withPpoSteps(steps);
            }
            if (seed != null) {
                profile = profile.withTaskSeed(seed);
            }
        } catch (IllegalArgumentException e) {
            System.err.println("salsa demo: --steps: " + e.getMessage());
            return 2;
        }
        try {
            Devices.setThreads(threads);
        } catch (IllegalArgumentException e) {
            System.err.println("salsa demo: " + e.getMessage());
            return 2;
        }
        if (!ModelRecipes.MODELS.contains(model)) {
            System.err.println("salsa demo: --model \"" + model + "\" is not supported (supported: "
                    + String.join(", ", ModelRecipes.MODELS) + ")");
            return 2;
        }
        DemoReward rewardSource;
        try {
            rewardSource = DemoReward.parse(reward);
        } catch (IllegalArgumentException e) {
            System.err.println("salsa demo: " + e.getMessage());
            return 2;
        }
        if (fresh) {
            try {
                wipe(dir);
            } catch (IllegalArgumentException | IOException e) {
                System.err.println("salsa demo: --fresh: " + e.getMessage());
                return 2;
            }
        }
        try {
            return run(dir, profile, model, rewardSource, keepOpen, System.out);
        } catch (ModelMismatchException e) {
            System.err.println("salsa demo: " + e.getMessage());
            return 2;
        }
    }

    /** {@link #run(Path, DemoProfile, String, boolean, PrintStream)} on the default GPT-2 base. */
    public static int run(Path dir, DemoProfile profile, boolean keepOpen, PrintStream out) throws Exception {
        return run(dir, profile, "gpt2", keepOpen, out);
    }

    /**
     * Runs the demo in {@code dir} on base architecture {@code model}; returns the exit code (0 when every stage
     * finished, 1 when one failed, 130 when stopped). Public so that the test suite runs exactly what the command
     * runs.
     *
     * @throws ModelMismatchException when {@code dir} holds a run of another architecture (nothing is started)
     */
    public static int run(Path dir, DemoProfile profile, String model, boolean keepOpen, PrintStream out)
            throws Exception {
        return run(dir, profile, model, DemoReward.MODEL, keepOpen, out);
    }

    /**
     * {@link #run(Path, DemoProfile, String, boolean, PrintStream)} with the loop rewarded by {@code reward}.
     *
     * @throws ModelMismatchException when {@code dir} holds a run of another architecture or reward (nothing is
     *                                started)
     */
    public static int run(Path dir, DemoProfile profile, String model, DemoReward reward, boolean keepOpen,
                          PrintStream out) throws Exception {
        ModelRecipes.baseShape(model); // an unknown architecture is refused before anything is recorded
        claimModel(dir, model);
        claimReward(dir, reward);
        long t0 = System.nanoTime();
        ServiceStack services = new ServiceStack();
        CountDownLatch finished = new CountDownLatch(1);
        DemoContext[] ctxRef = new DemoContext[1];
        Thread main = Thread.currentThread();
        Thread hook = new Thread(() -> {
            out.println("\nsalsa demo: stopping (Ctrl-C) ...");
            if (ctxRef[0] != null) {
                ctxRef[0].requestStop();
            }
            main.interrupt();
            try {
                // let the main thread close services in order and write what it has
                if (!finished.await(20, TimeUnit.SECONDS)) {
                    services.close();
                }
            } catch (InterruptedException e) {
                services.close();
            }
        }, "salsa-demo-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            out.printf("salsa demo (%s profile, %s model%s) in %s%n", profile.name(), model,
                    reward == DemoReward.ORACLE ? ", oracle reward" : "", dir.toAbsolutePath());
            EmbeddedKafkaBroker broker = services.push("kafka broker",
                    EmbeddedKafkaBroker.start(dir.resolve("kafka"), 0, Map.of()));
            KafkaSettings kafka = KafkaSettings.embedded(broker.bootstrapServers(), "");
            List<String> created = TopicAdmin.ensureAll(kafka);
            services.push("schema registry", kafka::closeRegistry);
            kafka.registry();
            out.printf("Kafka broker at %s (%d topics created), embedded schema registry%n",
                    broker.bootstrapServers(), created.size());

            DemoContext ctx = new DemoContext(dir, profile, model, reward, kafka, services, out);
            ctxRef[0] = ctx;
            List<Stage> stages = DemoStages.chain(profile);
            List<DemoRunner.StageResult> results = new DemoRunner(ctx, new StageMarkers(dir.resolve("stages")))
                    .run(stages);

            double wall = (System.nanoTime() - t0) / 1e9;
            writeRunResults(ctx, results, wall);
            boolean ok = results.stream().allMatch(r -> r.status() == DemoRunner.Status.RAN
                    || r.status() == DemoRunner.Status.DONE_EARLIER);
            boolean stopped = results.stream().anyMatch(r -> r.status() == DemoRunner.Status.STOPPED);
            summary(out, results, wall);
            if (ok && keepOpen && !ctx.stopping()) {
                out.println("Still running (--keep-open): the rater page and broker stay up. Ctrl-C to stop.");
                out.flush();
                try {
                    new CountDownLatch(1).await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return ok ? 0 : stopped || ctx.stopping() ? 130 : 1;
        } finally {
            services.close();
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException alreadyShuttingDown) {
                // the hook is running: it waits for the latch we just released
            }
        }
    }

    /** Writes {@code run/results.json} (facts and the stage table) and the report, whatever stage was reached. */
    static void writeRunResults(DemoContext ctx, List<DemoRunner.StageResult> results, double wallSeconds) {
        Map<String, String> facts = new LinkedHashMap<>();
        facts.put("profile", ctx.profile().toString());
        facts.put("model", ctx.model());
        facts.put("reward", ctx.reward() == DemoReward.ORACLE
                ? "oracle: the simulated rater's gold score (an ablation, not an alignment result)"
                : "the reward model trained from the raters' preferences");
        facts.put("data folder", ctx.dir().toAbsolutePath().toString());
        facts.put("wall time of this run", Progress.duration(wallSeconds));
        for (DemoRunner.StageResult r : results) {
            r.outputs().forEach((k, v) -> facts.put(r.name() + "." + k, v));
        }
        List<List<String>> rows = new ArrayList<>();
        for (DemoRunner.StageResult r : results) {
            rows.add(List.of(r.name(), r.description(), r.status().name().toLowerCase(Locale.ROOT).replace('_', ' '),
                    r.status() == DemoRunner.Status.RAN ? String.format(Locale.ROOT, "%.1f", r.seconds()) : "",
                    r.error() == null ? "" : r.error()));
        }
        ResultsTable stageTable = new ResultsTable("Demo stages", List.of("stage", "what", "status", "seconds",
                "error"), rows, List.of("Stages marked 'done earlier' finished in a previous run and were resumed."));
        List<StepMetrics> steps = List.of();
        try {
            MetricsDump.Dumped dumped = MetricsDump.dump(ctx.kafka(), List.of(), 0, ctx.runDir());
            facts.put("learner steps in the metrics topic", String.valueOf(dumped.steps()));
            if (dumped.skipped() > 0) {
                facts.put("undecodable metrics records skipped", String.valueOf(dumped.skipped()));
            }
            Path metrics = ctx.runDir().resolve(MetricsLog.FILE_NAME);
            if (Files.isRegularFile(metrics)) {
                steps = MetricsLog.read(metrics);
            }
        } catch (RuntimeException e) {
            facts.put("metrics dump failed", String.valueOf(e.getMessage()));
        }
        Map<String, Map<String, String>> outputs = new LinkedHashMap<>();
        results.forEach(r -> outputs.put(r.name(), r.outputs()));
        List<ResultsTable> tables = new ArrayList<>();
        GoldEval.byKind(outputs.getOrDefault("gold-eval", Map.of())).ifPresent(tables::add);
        tables.add(stageTable);
        RunResults run = new RunResults("salsa demo (" + ctx.profile().name() + ", " + ctx.model()
                + (ctx.reward() == DemoReward.ORACLE ? ", oracle reward" : "") + ")", facts,
                tables, GoldEval.headline(outputs, steps, wallSeconds));
        run.write(ctx.runDir());
        ReportWriter.Written w = ReportWriter.write(ctx.runDir());
        ctx.out().println("report: " + w.html().toAbsolutePath());
    }

    private static void summary(PrintStream out, List<DemoRunner.StageResult> results, double wall) {
        out.printf(Locale.ROOT, "salsa demo: %s in %s%n", results.stream().allMatch(
                r -> r.status() == DemoRunner.Status.RAN || r.status() == DemoRunner.Status.DONE_EARLIER)
                ? "all stages finished" : "did not finish", Progress.duration(wall));
        for (DemoRunner.StageResult r : results) {
            out.printf(Locale.ROOT, "  %-14s %-12s %s%n", r.name(), r.status().name().toLowerCase(Locale.ROOT),
                    r.error() == null ? "" : r.error());
        }
        out.flush();
    }

    /**
     * Records {@code model} as the architecture of the run in {@code dir} ({@code DIR/stages/model.txt}), or checks
     * it against the one recorded, so that a resume never feeds one architecture's folders to another's stages. A
     * run from before the record existed has stage markers but no record: it was GPT-2, the only model then.
     */
    static void claimModel(Path dir, String model) throws IOException {
        claim(dir, MODEL_FILE, "--model", model, "gpt2");
    }

    /**
     * Records what the run's loop is rewarded by ({@code DIR/stages/reward.txt}) or checks it against the one
     * recorded, so that a resumed loop never mixes the reward model's rewards with the oracle's. A run from before
     * the record existed used the reward model.
     */
    static void claimReward(Path dir, DemoReward reward) throws IOException {
        claim(dir, REWARD_FILE, "--reward", reward.optionName(), DemoReward.MODEL.optionName());
    }

    private static void claim(Path dir, String fileName, String option, String value, String olderRuns)
            throws IOException {
        Path file = dir.resolve("stages").resolve(fileName);
        String recorded;
        if (Files.isRegularFile(file)) {
            recorded = Files.readString(file, java.nio.charset.StandardCharsets.UTF_8).strip();
        } else if (Files.isRegularFile(dir.resolve("stages").resolve("pretrain.json"))) {
            recorded = olderRuns;
        } else {
            FileOps.writeStringAtomically(file, value + "\n");
            return;
        }
        if (!recorded.equals(value)) {
            throw new ModelMismatchException(dir + " holds a demo run with " + option + " " + recorded + " (" + file
                    + "); this one asks for " + option + " " + value + ". Resume with " + option + " " + recorded
                    + ", or start over with --fresh or another --dir.");
        }
    }

    /**
     * A resume asked for another base architecture ({@code --model}) or reward ({@code --reward}) than the run in
     * its folder has.
     */
    public static final class ModelMismatchException extends IllegalArgumentException {
        ModelMismatchException(String message) {
            super(message);
        }
    }

    /** Deletes the demo's own folders in {@code dir}; refuses a folder that holds anything else. */
    static void wipe(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + " is not a folder");
        }
        Set<String> owned = Set.copyOf(OWNED);
        try (Stream<Path> children = Files.list(dir)) {
            List<String> foreign = children.map(p -> p.getFileName().toString()).filter(n -> !owned.contains(n))
                    .sorted().toList();
            if (!foreign.isEmpty()) {
                throw new IllegalArgumentException(dir + " holds files the demo did not create (" + foreign
                        + "); refusing to delete anything there. Choose another --dir.");
            }
        }
        for (String name : OWNED) {
            FileOps.deleteTree(dir.resolve(name));
        }
    }
}
