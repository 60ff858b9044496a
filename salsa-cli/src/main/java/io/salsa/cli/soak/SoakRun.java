package io.salsa.cli.soak;

import io.salsa.cli.demo.DemoContext;
import io.salsa.cli.demo.DemoProfile;
import io.salsa.cli.demo.DemoRunner;
import io.salsa.cli.demo.DemoStages;
import io.salsa.cli.demo.Progress;
import io.salsa.cli.demo.ServiceStack;
import io.salsa.cli.demo.StageMarkers;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.DoubleSupplier;

/**
 * One soak run: a broker process, the models the demo prepares, then soup builder, reward scorer, two generators,
 * learner and feedback-ingest as separate {@code salsa} processes fed by a prompt publisher and simulated raters,
 * sampled every few seconds until the time is up; with chaos, each service is killed (SIGKILL) and restarted in
 * turn and the broker restarted once, then the loop drains and the topics are checked.
 *
 * <p>This class owns the run's course: preparation, the sampling and chaos schedule, recovery, drain and verdicts.
 * What each process runs is {@link SoakServices}'; the prompt feeder and the simulated raters are {@link SoakLoad}.
 */
final class SoakRun {

    /** Learner run id of the soak (the generators follow it). */
    static final String RUN = "soak";
    static final int SAMPLES_PER_PROMPT = 4;
    static final int BATCH_SIZE = 16;
    /** The order in which chaos kills services (the broker restart comes last). */
    static final List<String> CHAOS_ORDER = List.of("reward-scorer", "generator-1", "generator-2", "learner",
            "soup-builder", "ingest");
    static final String BROKER = "broker";
    /** The drain gives up after this long without a new rollout, score or step. */
    private static final Duration DRAIN_STALL = Duration.ofMinutes(4);
    /** How often the drain counts the topics (a few reads of end offsets and of the short run's topics). */
    private static final long DRAIN_POLL_MS = 1000;
    /**
     * The broker is restarted only when every service is ready ({@link ServiceProcess#ready()}: past its start-up):
     * a service that is still starting when the broker goes away can give up in a start-up admin call (see
     * docs/measurements/soak.md). Checked at most this often.
     */
    private static final long READY_CHECK_NANOS = 1_000_000_000L;
    /**
     * The gate opens anyway once every service has run this long since its last start (the gate before readiness
     * existed), so a service that never reports ready (a generator left without partitions) cannot hold the run.
     */
    static final double STARTUP_GRACE_S = 120;
    /** Prompts published at a time, whenever fewer than this many wait. */
    static final int PROMPT_CHUNK = 16;
    /** Longest the loop may take to recover from one chaos event (a new step and a new preference). */
    static final Duration RECOVERY_TIMEOUT = Duration.ofMinutes(5);
    /** How long the services may take from their start to the first rollout before the soak's clock starts anyway. */
    static final Duration WARMUP_TIMEOUT = Duration.ofMinutes(10);

    /**
     * What the command asked for.
     *
     * @param chaosKills  with {@code chaos}, the services killed in turn, in {@link #CHAOS_ORDER} (the broker
     *                    restart always follows them); every service of that order when {@code chaos} and no subset
     *                    is named
     * @param rewardSteps optimizer steps of the reward model the preparation trains (the quick demo's by default);
     *                    a test may train fewer, since no verdict and no sampling check depends on the scores' quality
     */
    record Options(double minutes, boolean chaos, Path out, long seed, int sampleSeconds, long raterIntervalMs,
                   int checkpointKeepEvery, int checkpointKeepLast, List<String> chaosKills, int rewardSteps) {

        Options {
            List<String> unknown = chaosKills.stream().filter(n -> !CHAOS_ORDER.contains(n)).toList();
            if (!unknown.isEmpty()) {
                throw new IllegalArgumentException("cannot kill " + unknown + ": the services are " + CHAOS_ORDER);
            }
            chaosKills = !chaos ? List.of() : chaosKills.isEmpty() ? CHAOS_ORDER
                    : CHAOS_ORDER.stream().filter(chaosKills::contains).toList();
            if (rewardSteps < 1) {
                throw new IllegalArgumentException("rewardSteps must be >= 1, got " + rewardSteps);
            }
        }

        /** The quick demo's reward-model training. */
        Options(double minutes, boolean chaos, Path out, long seed, int sampleSeconds, long raterIntervalMs,
                int checkpointKeepEvery, int checkpointKeepLast, List<String> chaosKills) {
            this(minutes, chaos, out, seed, sampleSeconds, raterIntervalMs, checkpointKeepEvery, checkpointKeepLast,
                    chaosKills, DemoProfile.quick().rewardSteps());
        }

        /** Every service killed with {@code chaos}. */
        Options(double minutes, boolean chaos, Path out, long seed, int sampleSeconds, long raterIntervalMs,
                int checkpointKeepEvery, int checkpointKeepLast) {
            this(minutes, chaos, out, seed, sampleSeconds, raterIntervalMs, checkpointKeepEvery, checkpointKeepLast,
                    List.of());
        }

        /** The command's default checkpoint retention: every 10th version and the newest 5. */
        Options(double minutes, boolean chaos, Path out, long seed, int sampleSeconds, long raterIntervalMs) {
            this(minutes, chaos, out, seed, sampleSeconds, raterIntervalMs, 10, 5);
        }
    }

    /** What the run found; {@code ok} is false when a verdict failed or a service died on its own. */
    record Result(boolean ok, SoakSummary summary, ChaosVerdicts.Verdicts verdicts) {
    }

    private final Options opt;
    private final PrintStream out;
    private final Path data;
    private final Path logs;
    private final Map<String, ServiceProcess> services = new LinkedHashMap<>();
    private final Map<String, Integer> unexpectedExits = new LinkedHashMap<>();
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final Map<String, Double> recoveries = new LinkedHashMap<>();
    private final List<String> notRecovered = new ArrayList<>();
    private final SoakServices processes;
    private final SoakLoad load;
    private volatile boolean brokerRestarting;
    private long nextReadyCheck;
    private KafkaSettings kafka;
    private String blobStore;
    private long t0;

    SoakRun(Options opt, PrintStream out) {
        this.opt = opt;
        this.out = out;
        this.data = opt.out().resolve("data").toAbsolutePath();
        this.logs = opt.out().resolve("logs").toAbsolutePath();
        this.processes = new SoakServices(data, logs, opt.checkpointKeepEvery(), opt.checkpointKeepLast());
        this.load = new SoakLoad(opt.raterIntervalMs(), events, this::elapsed, () -> brokerRestarting);
    }

    /** The data profile: the demo's quick models (seeded), two generators, the loop unbounded in steps. */
    static DemoProfile profile(long seed) {
        return profile(seed, DemoProfile.quick().rewardSteps());
    }

    /** {@link #profile(long)} with the reward model trained for {@code rewardSteps} optimizer steps. */
    static DemoProfile profile(long seed, int rewardSteps) {
        DemoProfile q = DemoProfile.quick();
        return new DemoProfile("soak", seed, q.entities(), q.sftModels(), q.pretrainEpochs(), q.sftEpochs(),
                q.preferences(), rewardSteps, 1_000_000, q.ppoBatch(), 2);
    }

    Result run() throws Exception {
        Files.createDirectories(data);
        Files.createDirectories(logs);
        int brokerPort = freePort();
        int ingestPort = freePort();
        blobStore = data.resolve("blobs").toUri().toString();
        out.printf("salsa soak: %.1f min%s in %s%n", opt.minutes(), opt.chaos() ? " with chaos (kill -9 "
                + String.join(", ", opt.chaosKills()) + ", then a broker restart)" : "", opt.out().toAbsolutePath());
        ServiceProcess broker = processes.broker(brokerPort);
        services.put(BROKER, broker);
        SoakSeries series = new SoakSeries(opt.out().resolve("soak.csv"));
        Sampler sampler = null;
        ChaosVerdicts.Verdicts verdicts = null;
        try {
            SoakServices.startBroker(broker);
            kafka = KafkaSettings.embedded("127.0.0.1:" + brokerPort, "");
            TopicAdmin.ensureAll(kafka);
            DemoProfile profile = profile(opt.seed(), opt.rewardSteps());
            String base = prepare(profile);
            long rolloutsBefore = KafkaLog.endOffsetSum(kafka, kafka.topic(Topics.ROLLOUTS));
            long feedbackBefore = KafkaLog.endOffsetSum(kafka, kafka.topic(Topics.FEEDBACK));
            kafka.closeRegistry();

            services.putAll(processes.loop(kafka.bootstrapServers(), blobStore, base, ingestPort, opt.seed(),
                    load.ratersFlag()));
            for (ServiceProcess s : services.values()) {
                if (!s.name().equals(BROKER)) {
                    s.start();
                    out.printf("   started %-14s pid %-7d %s%n", s.name(), s.pid(), s.describe());
                }
            }
            t0 = System.nanoTime();
            sampler = new Sampler(series, services, data, kafka, rolloutsBefore, feedbackBefore);
            load.start(kafka, profile, URI.create("http://127.0.0.1:" + ingestPort + "/"));
            loop(sampler, series);
            load.stop();
            if (opt.chaos()) {
                drain();
            }
            stopServices();
            if (opt.chaos()) {
                verdicts = ChaosVerdicts.check(kafka, RUN, SAMPLES_PER_PROMPT, load.promptIds(), load.acknowledged(),
                        replay(), recoveries, notRecovered);
            }
        } finally {
            load.interrupt();
            for (ServiceProcess s : reversed(services.values())) {
                s.stop(60);
            }
            if (kafka != null) {
                kafka.closeRegistry();
            }
            series.close();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        SoakSummary summary = SoakSummary.of(series, services, unexpectedExits, events, load.raterErrors(),
                seconds, opt, recoveries);
        summary.write(opt.out(), verdicts);
        out.print(summary.text());
        if (verdicts != null) {
            out.print(verdicts.text());
        }
        boolean ok = unexpectedExits.isEmpty() && (verdicts == null || verdicts.allHold());
        return new Result(ok, summary, verdicts);
    }

    /** The demo's preparation (task, base, SFT models, soup, rater feedback, reward model) against the broker. */
    private String prepare(DemoProfile profile) throws Exception {
        try (ServiceStack stack = new ServiceStack()) {
            DemoContext ctx = new DemoContext(data, profile, kafka, stack, out);
            List<DemoRunner.StageResult> results = new DemoRunner(ctx, new StageMarkers(data.resolve("stages")))
                    .run(DemoStages.preparation(profile));
            for (DemoRunner.StageResult r : results) {
                if (r.status() != DemoRunner.Status.RAN && r.status() != DemoRunner.Status.DONE_EARLIER) {
                    throw new IllegalStateException("preparation stage " + r.name() + " " + r.status() + ": "
                            + r.error());
                }
            }
            return ctx.output(DemoStages.PUBLISH_SFT, "base");
        }
    }

    /**
     * Samples every {@code sampleSeconds} until the time is up, running the chaos schedule on the way. The soak's
     * minutes count from the first rollout (at most {@link #WARMUP_TIMEOUT} after the services' start), so a slow
     * machine's start-up does not eat a short soak. The chaos events
     * start once the loop is warm (15 % of the run and the learner's first step, so a kill lands on a service that
     * is working), planned evenly up to 75 % of the run; each waits until the loop has recovered from the one
     * before (a new learner step and a new preference after it), and the broker restart until every service is
     * ready again ({@link #allReady()}; at the latest once all have run {@link #STARTUP_GRACE_S} s).
     * A loop that does not recover within {@link #RECOVERY_TIMEOUT} is recorded and the schedule goes on. The run
     * lasts until the last event has recovered, even when that is past its minutes.
     */
    private void loop(Sampler sampler, SoakSeries series) throws Exception {
        double total = opt.minutes() * 60;
        List<String> schedule = new ArrayList<>(opt.chaosKills());
        if (opt.chaos()) {
            schedule.add(BROKER);
        }
        int next = 0;
        double firstAt = -1;
        double every = 0;
        Pending pending = null;
        long nextSample = 0;
        double warm = -1; // when the first rollout was counted: the soak's minutes and its schedule start there
        while (true) {
            if (warm < 0 && (sampler.last("rollout_offsets") > 0 || elapsed() > WARMUP_TIMEOUT.toSeconds())) {
                warm = elapsed();
                events.add(sampler.last("rollout_offsets") > 0
                        ? String.format(Locale.ROOT, "%.0f s: the loop runs (first rollout); the soak's minutes "
                                + "count from here", warm)
                        : String.format(Locale.ROOT, "%.0f s: NO ROLLOUT within %d s of the services' start; the "
                                + "soak's minutes count from here", warm, WARMUP_TIMEOUT.toSeconds()));
            }
            double w = warm;
            DoubleSupplier since = () -> w < 0 ? 0 : elapsed() - w;
            double elapsed = since.getAsDouble();
            if (pending != null && pending.recoveredIn(sampler)) {
                recoveries.put(pending.name(), elapsed - pending.at());
                events.add(String.format(Locale.ROOT, "%.0f s: the loop recovered from the %s event in %.0f s "
                        + "(new rollouts, scores, a step, a checkpoint and a preference)", elapsed, pending.name(),
                        elapsed - pending.at()));
                pending = null;
            } else if (pending != null && elapsed - pending.at() > RECOVERY_TIMEOUT.toSeconds()) {
                notRecovered.add(pending.name());
                events.add(String.format(Locale.ROOT, "%.0f s: NO RECOVERY within %d s of the %s event", elapsed,
                        RECOVERY_TIMEOUT.toSeconds(), pending.name()));
                pending = null;
            }
            if (elapsed >= total && next >= schedule.size() && pending == null) {
                break;
            }
            if (firstAt < 0 && next < schedule.size() && elapsed >= total * 0.15
                    && (sampler.last("learner_steps") > 0 || elapsed >= total)) {
                firstAt = elapsed;
                every = Math.max(0, (total * 0.75 - elapsed) / schedule.size());
            }
            if (firstAt >= 0 && pending == null && next < schedule.size() && elapsed >= firstAt + next * every
                    && (!schedule.get(next).equals(BROKER) || allReady() || allUpFor(STARTUP_GRACE_S))) {
                String name = schedule.get(next++);
                chaos(name);
                // the baseline is a sample taken after the event: counts that were in flight before it do not count
                // as a recovery
                sampler.sample(elapsed(), brokerRestarting);
                pending = new Pending(name, since.getAsDouble(), Pending.counts(sampler));
                continue;
            }
            if (System.nanoTime() >= nextSample) {
                nextSample = System.nanoTime() + opt.sampleSeconds() * 1_000_000_000L;
                checkAlive();
                sampler.sample(elapsed(), brokerRestarting);
                series.flush();
                progress(sampler, warm < 0 ? -1 : elapsed, total);
            }
            Thread.sleep(200);
        }
        sampler.sample(elapsed(), false);
        series.flush();
    }

    /** True when every service process has been running for {@code seconds} since its last start. */
    private boolean allUpFor(double seconds) {
        return services.values().stream().allMatch(s -> s.alive() && s.upSeconds() >= seconds);
    }

    /** True when the broker runs and every service answers {@code /readyz} with 200 (checked at most once a second). */
    private boolean allReady() {
        if (System.nanoTime() < nextReadyCheck) {
            return false;
        }
        nextReadyCheck = System.nanoTime() + READY_CHECK_NANOS;
        return services.values().stream().allMatch(s -> s.name().equals(BROKER) ? s.alive() : s.ready());
    }

    /**
     * A chaos event the loop has not yet recovered from, with the counts at the time. Recovered means every
     * producer's topic moved on since: rollouts, scored rollouts, learner steps, policy checkpoints, preferences.
     * A restarted service registers its schemas with its first write, so a recovery that waited only for a step and
     * a preference could let the broker restart catch the learner between its step and its first checkpoint (its
     * registry read then timed out and it exited, 2026-12-04 in docs/measurements/soak.md).
     */
    private record Pending(String name, double at, Map<String, Long> counts) {

        static final List<String> PRODUCED = List.of("rollout_offsets", "scored_offsets", "learner_steps",
                "policy_checkpoints", "preferences");

        static Map<String, Long> counts(Sampler sampler) {
            Map<String, Long> c = new LinkedHashMap<>();
            PRODUCED.forEach(metric -> c.put(metric, sampler.last(metric)));
            return c;
        }

        boolean recoveredIn(Sampler sampler) {
            return PRODUCED.stream().allMatch(metric -> sampler.last(metric) > counts.get(metric));
        }
    }

    private void chaos(String name) throws Exception {
        ServiceProcess s = services.get(name);
        double at = elapsed();
        if (name.equals(BROKER)) {
            brokerRestarting = true;
            try {
                boolean clean = s.stop(60);
                String event = String.format(Locale.ROOT, "%.0f s: broker stopped (%s), restarted on the same "
                        + "folder and port", at, clean ? "SIGTERM" : "SIGKILL after 60 s");
                SoakServices.startBroker(s);
                events.add(event);
                out.println("   chaos: " + event);
            } finally {
                brokerRestarting = false;
            }
            return;
        }
        long pid = s.pid();
        s.kill9();
        s.start();
        String event = String.format(Locale.ROOT, "%.0f s: %s kill -9 (pid %d), restarted as pid %d", at, name, pid,
                s.pid());
        events.add(event);
        out.println("   chaos: " + event);
    }

    /** A service that exited on its own is counted and started again, so the run goes on and says so. */
    private void checkAlive() throws Exception {
        for (ServiceProcess s : services.values()) {
            if (!s.alive() && !(s.name().equals(BROKER) && brokerRestarting)) {
                unexpectedExits.merge(s.name(), 1, Integer::sum);
                String event = String.format(Locale.ROOT, "%.0f s: %s EXITED on its own (code %s), restarted",
                        elapsed(), s.name(), s.exitCode());
                events.add(event);
                out.println("   " + event);
                if (s.name().equals(BROKER)) {
                    SoakServices.startBroker(s);
                } else {
                    s.start();
                }
            }
        }
    }

    private void progress(Sampler sampler, double elapsed, double total) {
        if (elapsed < 0) {
            out.printf(Locale.ROOT, "   warming up %s: waiting for the first rollout  learner RSS %.0f MB  load %.2f%n",
                    Progress.duration(elapsed()), sampler.lastRss("learner"), sampler.loadAverage());
            out.flush();
            return;
        }
        out.printf(Locale.ROOT, "   soak %s / %s (ETA %s)  steps %d  rollouts %d  preferences %d  learner RSS %.0f MB"
                        + "  load %.2f%n", Progress.duration(elapsed), Progress.duration(total),
                Progress.duration(Math.max(0, total - elapsed)), sampler.last("learner_steps"),
                sampler.last("rollout_offsets"), sampler.last("preferences"), sampler.lastRss("learner"),
                sampler.loadAverage());
        out.flush();
    }

    /**
     * Lets the generators, scorer and learner finish what the stopped producers left: every prompt's rollouts, each
     * scored. Gives up only after {@link #DRAIN_STALL} without progress, so a slow machine drains too.
     */
    private void drain() throws Exception {
        List<String> promptIds = load.promptIds();
        out.printf("   draining: %d prompts published%n", promptIds.size());
        long lastProgress = System.nanoTime();
        ChaosVerdicts.Counts before = null;
        while (System.nanoTime() - lastProgress < DRAIN_STALL.toNanos()) {
            checkAlive();
            ChaosVerdicts.Counts c = ChaosVerdicts.counts(kafka, RUN, SAMPLES_PER_PROMPT, promptIds);
            if (c.promptsComplete() == promptIds.stream().distinct().count() && c.scored() >= c.rolloutsDistinct()) {
                out.printf("   drained: %d prompts complete, %d rollouts scored%n", c.promptsComplete(), c.scored());
                return;
            }
            if (!c.equals(before)) {
                lastProgress = System.nanoTime();
                before = c;
                out.printf("   draining: %d of %d prompts complete, %d of %d rollouts scored%n", c.promptsComplete(),
                        promptIds.size(), c.scored(), c.rolloutsDistinct());
            }
            Thread.sleep(DRAIN_POLL_MS);
        }
        out.println("   drain made no progress for " + DRAIN_STALL.toMinutes() + " min; checking what is there");
    }

    /**
     * SIGTERM to every service at once, then waits for each (SIGKILL after 60 s): each one's clean shutdown (final
     * commits, leaving its group) runs in parallel with the others' instead of one after another.
     */
    private void stopServices() throws InterruptedException {
        List<ServiceProcess> stopping = reversed(services.values()).stream()
                .filter(s -> !s.name().equals(BROKER)).toList();
        stopping.forEach(ServiceProcess::terminate);
        for (ServiceProcess s : stopping) {
            s.stop(60);
        }
    }

    /** {@code salsa replay --run soak} as its own process; true when every checkpoint came out bit for bit. */
    private ChaosVerdicts.Replayed replay() throws Exception {
        ServiceProcess replay = processes.replay(kafka.bootstrapServers(), blobStore);
        out.println("   " + replay.describe());
        replay.start();
        await("salsa replay", Duration.ofMinutes(30), () -> !replay.alive());
        String log = Files.readString(replay.log(), StandardCharsets.UTF_8);
        return new ChaosVerdicts.Replayed(replay.exitCode() != null && replay.exitCode() == 0, replay.exitCode(),
                log.lines().filter(l -> l.startsWith("run ") || l.contains("checkpoints") || l.contains("DIFFERS")
                        || l.startsWith("salsa replay")).toList());
    }

    private double elapsed() {
        return (System.nanoTime() - t0) / 1e9;
    }

    static void await(String what, Duration timeout, BooleanSupplier done) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out after " + timeout.toSeconds() + " s waiting for " + what);
            }
            Thread.sleep(250);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static <T> List<T> reversed(java.util.Collection<T> c) {
        List<T> l = new ArrayList<>(c);
        java.util.Collections.reverse(l);
        return l;
    }
}
