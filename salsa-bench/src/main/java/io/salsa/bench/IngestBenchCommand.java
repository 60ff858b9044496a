package io.salsa.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.ingest.FeedbackAudit;
import io.salsa.ingest.IngestApp;
import io.salsa.ingest.IngestConfig;
import io.salsa.ingest.IngestKafka;
import io.salsa.ingest.Raters;
import io.salsa.ingest.SyntheticRollouts;
import io.salsa.schemas.KafkaSettings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code salsa bench ingest}: starts feedback-ingest in this process on a fresh topic prefix, seeds synthetic
 * rollouts, drives it with N keep-alive connections (one rater each: GET a task, POST an answer) and reports
 * sustained preferences/s, latency percentiles, and lost/duplicated events counted from the topic at the end.
 */
@Command(name = "ingest", mixinStandardHelpOptions = true, modelTransformer = BenchOptions.Install.class,
        description = "Load-test feedback-ingest with acks=all against a running Kafka (start one with"
                + " `salsa broker`; without one an in-process broker is started); reports preferences/s, p50/p99"
                + " and lost/duplicated events.")
public final class IngestBenchCommand extends BenchCommand {

    @Option(names = "--connections", defaultValue = "32", description = "Concurrent connections (default ${DEFAULT-VALUE}).")
    int connections;

    @Option(names = "--max-preferences", defaultValue = "1000000",
            description = "Stop after this many acknowledged preferences (default ${DEFAULT-VALUE}).")
    long maxPreferences;

    @Option(names = "--linger-ms", defaultValue = "5", description = "Producer linger.ms (default ${DEFAULT-VALUE}).")
    int lingerMs;

    @Option(names = "--prompts", defaultValue = "400", description = "Synthetic prompts to seed (default ${DEFAULT-VALUE}).")
    int prompts;

    @Option(names = "--per-prompt", defaultValue = "8", description = "Rollouts per prompt (default ${DEFAULT-VALUE}).")
    int perPrompt;

    public IngestBenchCommand() {
        super(BenchOptions.warmup("--warmup-seconds", 5, "Unmeasured warm-up, in seconds")
                .measured("--seconds", 20, "Measured duration, in seconds")
                .kafka(BenchOptions.Kafka.ENVIRONMENT_ELSE_EMBEDDED));
    }

    /** Where {@code SALSA_KAFKA_BOOTSTRAP} and friends are read (tests give their own). */
    Map<String, String> env = System.getenv();

    /** Latencies of one connection, in nanoseconds; grown as needed, merged at the end. */
    private static final class Samples {
        long[] post = new long[1 << 14];
        long[] get = new long[1 << 14];
        int posts;
        int gets;

        void post(long nanos) {
            if (posts == post.length) {
                post = Arrays.copyOf(post, posts * 2);
            }
            post[posts++] = nanos;
        }

        void get(long nanos) {
            if (gets == get.length) {
                get = Arrays.copyOf(get, gets * 2);
            }
            get[gets++] = nanos;
        }
    }

    @Override
    public Integer call() throws Exception {
        if (connections < 1 || connections > 4096 || prompts < 1 || perPrompt < 2 || maxPreferences < 1
                || bench.problem() != null) {
            return bench.refuse("need --connections 1..4096, --seconds >= 1, --warmup-seconds >= 0,"
                    + " --prompts >= 1, --per-prompt >= 2, --max-preferences >= 1");
        }
        try (Scratch scratch = Scratch.create("ingest")) {
            Optional<BenchBroker> started = bench.brokerOrRefuse(scratch.dir(), env, System.out::println);
            if (started.isEmpty()) {
                return EXIT_BAD_INPUT;
            }
            try (BenchBroker broker = started.get()) {
                KafkaSettings settings = broker.settings("bench-" + System.currentTimeMillis() + ".");
                try {
                    return run(settings, broker.inProcess());
                } finally {
                    settings.closeRegistry();
                }
            }
        }
    }

    private int run(KafkaSettings settings, boolean brokerInProcess) throws Exception {
        long pairs = SyntheticRollouts.publish(settings, "bench", prompts, perPrompt);
        Map<String, String> tokens = new HashMap<>();
        StringBuilder raterList = new StringBuilder();
        for (int i = 0; i < connections; i++) {
            String token = "bench-token-" + i + "-" + System.nanoTime();
            tokens.put("bench" + i, token);
            raterList.append("bench").append(i).append(':').append(Raters.sha256Hex(token)).append(',');
        }
        Map<String, String> ingestEnv = new HashMap<>();
        ingestEnv.put(IngestConfig.PORT, "0");
        ingestEnv.put(IngestConfig.RATERS, raterList.toString());
        ingestEnv.put(IngestConfig.RATE_PER_SECOND, "1000000");
        ingestEnv.put(IngestConfig.RATE_BURST, "1000000");
        ingestEnv.put(IngestConfig.MAX_IN_FLIGHT, Integer.toString(Math.max(connections * 2, 64)));
        ingestEnv.put(IngestConfig.LINGER_MS, Integer.toString(lingerMs));
        ingestEnv.put(IngestConfig.PAIR_CAPACITY, Long.toString(Math.max(pairs, 1)));
        IngestConfig config;
        try {
            config = IngestConfig.fromEnv(ingestEnv);
        } catch (IllegalArgumentException e) {
            return bench.refuse(e);
        }

        int seconds = bench.measured();
        int warmupSeconds = bench.warmup();
        ObjectMapper json = new ObjectMapper();
        Set<String> acked = ConcurrentHashMap.newKeySet();
        LongAdder non201 = new LongAdder();
        LongAdder noTask = new LongAdder();
        AtomicLong measuredAcks = new AtomicLong();
        List<Samples> samples = new ArrayList<>();
        try (IngestApp app = IngestApp.start(config, new IngestKafka(settings))) {
            long start = System.nanoTime();
            long measureFrom = start + warmupSeconds * 1_000_000_000L;
            long end = measureFrom + seconds * 1_000_000_000L;
            System.out.printf("salsa bench ingest: %d connections, %d s warm-up + %d s measured, linger.ms=%d,"
                    + " %d pairs per rater, topics %s*%n", connections, warmupSeconds, seconds, lingerMs, pairs,
                    settings.topicPrefix());
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < connections; i++) {
                String rater = "bench" + i;
                String token = tokens.get(rater);
                Samples s = new Samples();
                samples.add(s);
                Thread t = new Thread(() -> {
                    try (LoadConnection c = new LoadConnection("127.0.0.1", app.port())) {
                        int n = 0;
                        while (System.nanoTime() < end && acked.size() < maxPreferences) {
                            long t0 = System.nanoTime();
                            LoadConnection.Reply g = c.get("/api/tasks/next", token);
                            long t1 = System.nanoTime();
                            JsonNode task = json.readTree(g.body()).get("task");
                            if (g.status() != 200 || task == null || task.isNull()) {
                                noTask.increment();
                                break;
                            }
                            String body = "{\"taskId\":\"" + task.get("taskId").asText() + "\",\"choice\":\""
                                    + (n % 3 == 0 ? "A" : n % 3 == 1 ? "B" : "tie") + "\"}";
                            String key = rater + "-" + n++;
                            LoadConnection.Reply p = c.post("/api/preferences", token, key, body);
                            while (p.status() == 503 && System.nanoTime() < end + 30_000_000_000L) {
                                non201.increment();
                                Thread.sleep(20);
                                p = c.post("/api/preferences", token, key, body);
                            }
                            long t2 = System.nanoTime();
                            if (p.status() != 201) {
                                non201.increment();
                                continue;
                            }
                            acked.add(json.readTree(p.body()).get("preferenceId").asText());
                            if (t0 >= measureFrom && t2 <= end) {
                                s.get(t1 - t0);
                                s.post(t2 - t1);
                                measuredAcks.incrementAndGet();
                            }
                        }
                    } catch (Exception e) {
                        System.err.println("connection " + rater + " failed: " + e);
                    }
                }, "bench-" + rater);
                t.start();
                threads.add(t);
            }
            ProgressLine progress = bench.progressUntil("acknowledged", end, "preferences");
            long cpuAtMeasureStart = -1;
            long cpuAtMeasureEnd = -1;
            long clientAtMeasureStart = -1;
            long clientAtMeasureEnd = -1;
            // each rater thread's CPU as last seen alive: a thread that ends at the deadline keeps its last reading
            long[] clientCpu = new long[threads.size()];
            while (threads.stream().anyMatch(Thread::isAlive)) {
                Thread.sleep(50);
                long now = System.nanoTime();
                long client = threadsCpuNanos(threads, clientCpu);
                if (cpuAtMeasureStart < 0 && now >= measureFrom) {
                    cpuAtMeasureStart = processCpuNanos();
                    clientAtMeasureStart = client;
                }
                if (cpuAtMeasureEnd < 0 && now >= end) {
                    cpuAtMeasureEnd = processCpuNanos();
                    clientAtMeasureEnd = client;
                }
                progress.update(acked.size());
            }
            for (Thread t : threads) {
                t.join();
            }
            double measuredSeconds = Math.min(seconds, (System.nanoTime() - measureFrom) / 1e9);
            long[] post = merge(samples, true);
            long[] get = merge(samples, false);
            FeedbackAudit.Result audit = FeedbackAudit.check(settings, acked);
            double rate = measuredAcks.get() / measuredSeconds;
            System.out.printf("%nresult: %.0f preferences/s sustained (%d acknowledged in %.1f s measured,"
                    + " acks=all, %d connections)%n", rate, measuredAcks.get(), measuredSeconds, connections);
            System.out.printf("POST /api/preferences latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms%n",
                    ms(post, 0.50), ms(post, 0.99), ms(post, 1.0));
            System.out.printf("GET  /api/tasks/next latency:  p50 %.2f ms, p99 %.2f ms%n", ms(get, 0.50),
                    ms(get, 0.99));
            ResultTable table = new ResultTable("ingest").text("measurement", 32).number("value", 10, 2)
                    .text("unit", 12)
                    .row("preferences sustained", rate, "1/s")
                    .row("POST p50", ms(post, 0.50), "ms").row("POST p99", ms(post, 0.99), "ms")
                    .row("POST max", ms(post, 1.0), "ms")
                    .row("GET p50", ms(get, 0.50), "ms").row("GET p99", ms(get, 0.99), "ms");
            if (cpuAtMeasureStart >= 0 && cpuAtMeasureEnd > cpuAtMeasureStart && measuredAcks.get() > 0) {
                double cpuSeconds = (cpuAtMeasureEnd - cpuAtMeasureStart) / 1e9;
                System.out.printf("CPU of this process (service + load client) while measured: %.1f s = %.2f cores,"
                                + " %.3f ms per preference (%s)%n", cpuSeconds, cpuSeconds / measuredSeconds,
                        cpuSeconds * 1000 / measuredAcks.get(), brokerInProcess
                                ? "the in-process broker's CPU is included" : "the broker's CPU is not included");
                table.row("CPU per preference", cpuSeconds * 1000 / measuredAcks.get(), "ms");
                if (clientAtMeasureStart >= 0 && clientAtMeasureEnd >= clientAtMeasureStart) {
                    // the load client runs entirely on the rater threads (blocking sockets); everything else in this
                    // process is the service: Jetty, the producer's network thread, and the GC and JIT of both
                    double client = (clientAtMeasureEnd - clientAtMeasureStart) / 1e9;
                    double service = cpuSeconds - client;
                    System.out.printf("  of which the service: %.1f s = %.2f cores, %.3f ms per preference; the load"
                                    + " client's rater threads: %.1f s, %.3f ms per preference%n", service,
                            service / measuredSeconds, service * 1000 / measuredAcks.get(), client,
                            client * 1000 / measuredAcks.get());
                    table.row("service CPU per preference", service * 1000 / measuredAcks.get(), "ms");
                    table.row("client CPU per preference", client * 1000 / measuredAcks.get(), "ms");
                }
            }
            System.out.printf("non-201 answers (incl. 503 retries): %d; raters out of tasks: %d%n", non201.sum(),
                    noTask.sum());
            System.out.printf("topic audit: %d records, %d acknowledged, lost %d, duplicated %d,"
                            + " unacknowledged-but-written %d%n", audit.records(), audit.acknowledged(), audit.lost(),
                    audit.duplicated(), audit.unacknowledged());
            table.row("lost", audit.lost(), "events").row("duplicated", audit.duplicated(), "events");
            bench.save(table, System.out);
            return audit.lost() == 0 && audit.duplicated() == 0 ? 0 : 1;
        }
    }

    /**
     * CPU time the given threads have used so far, each as last seen alive ({@code lastSeen}, updated here), so a
     * thread that has ended still counts; -1 without thread CPU timing.
     */
    private static long threadsCpuNanos(List<Thread> threads, long[] lastSeen) {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        if (!mx.isThreadCpuTimeSupported()) {
            return -1;
        }
        long sum = 0;
        for (int i = 0; i < threads.size(); i++) {
            lastSeen[i] = Math.max(lastSeen[i], mx.getThreadCpuTime(threads.get(i).getId()));
            sum += lastSeen[i];
        }
        return sum;
    }

    private static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : -1;
    }

    private static long[] merge(List<Samples> samples, boolean post) {
        long[] all = samples.stream().flatMapToLong(s -> Arrays.stream(post ? s.post : s.get, 0,
                post ? s.posts : s.gets)).toArray();
        Arrays.sort(all);
        return all;
    }

    /** The {@code q}-quantile of nanosecond latencies, in milliseconds. */
    private static double ms(long[] sortedNanos, double q) {
        return Stats.percentile(sortedNanos, q) / 1e6;
    }
}
