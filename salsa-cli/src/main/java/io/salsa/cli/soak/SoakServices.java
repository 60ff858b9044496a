package io.salsa.cli.soak;

import io.salsa.cli.demo.DemoStages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What each process of a soak runs: the broker (and how to wait until it is ready), the loop's services (soup
 * builder, reward scorer, two generators, learner, feedback-ingest) with their flags, and the replay that checks the
 * learner's checkpoints afterwards. Every process logs to its own file under the soak's {@code logs} folder.
 */
final class SoakServices {

    private static final Duration BROKER_READY = Duration.ofMinutes(5);
    /**
     * One native thread per process (seven JVMs share the cores), and consumer groups that notice a member killed
     * with SIGKILL after 10 s instead of the client default of 45 s: until then the dead member keeps its
     * partitions and the group's rebalance waits for it, so every generator kill stalled the prompts for 45 s.
     * Heartbeats (every 3 s) run on the client's own thread, so a long learner step does not end a session.
     * {@code MALLOC_ARENA_MAX=2} as the launcher and the image set it (glibc's default of 8 arenas per core lets
     * PyTorch's and the JVM's native allocations spread over many arenas, whose freed pages RSS keeps).
     */
    private static final Map<String, String> ENV = Map.of("OMP_NUM_THREADS", "1", "MKL_NUM_THREADS", "1",
            "SALSA_KAFKA_SESSION_TIMEOUT_MS", "10000", "SALSA_KAFKA_HEARTBEAT_INTERVAL_MS", "3000",
            "MALLOC_ARENA_MAX", "2");
    /**
     * A fixed, pre-touched heap, as for a long-running service: RSS then starts with the whole heap, and whatever it
     * grows by afterwards is outside the heap (native arrays, arenas, code, threads) — what the soak looks for —
     * instead of G1 committing more heap as it goes (which the 2026-12-04 hours showed as the generators' rise).
     */
    private static final List<String> JVM = List.of("-Xms512m", "-Xmx512m", "-XX:+AlwaysPreTouch");
    private static final List<String> LARGE_JVM = List.of("-Xms768m", "-Xmx768m", "-XX:+AlwaysPreTouch");

    private final Path data;
    private final Path logs;
    private final int keepEvery;
    private final int keepLast;

    /**
     * Processes keeping their state under {@code data} and their logs under {@code logs}; the learner keeps every
     * {@code keepEvery}-th policy checkpoint (0 = none by that rule) and the newest {@code keepLast}.
     */
    SoakServices(Path data, Path logs, int keepEvery, int keepLast) {
        this.data = data;
        this.logs = logs;
        this.keepEvery = keepEvery;
        this.keepLast = keepLast;
    }

    /** {@code salsa broker} on {@code data/kafka} and a fixed port, so a restart keeps its folder and address. */
    ServiceProcess broker(int port) {
        return new ServiceProcess(SoakRun.BROKER, List.of("broker", "--dir", data.resolve("kafka").toString(),
                "--port", Integer.toString(port)), JVM, Map.of(), logs.resolve("broker.log"));
    }

    /** Starts (or restarts) the broker and waits until it prints its address; fails when it exits instead. */
    static void startBroker(ServiceProcess broker) throws Exception {
        long lines = countLines(broker.log(), "bootstrap.servers=");
        broker.start();
        SoakRun.await("the broker (" + broker.log() + ")", BROKER_READY,
                () -> countLines(broker.log(), "bootstrap.servers=") > lines || !broker.alive());
        if (!broker.alive()) {
            throw new IllegalStateException("the broker exited with " + broker.exitCode() + "; see " + broker.log());
        }
    }

    /**
     * The loop's services in start order, not started: they follow the soak's learner run {@value SoakRun#RUN} from
     * the soup of the demo's recipe; {@code base} is the published base model, {@code raters} the value of
     * {@code salsa ingest --raters}.
     */
    Map<String, ServiceProcess> loop(String bootstrap, String blobStore, String base, int ingestPort, long seed,
            String raters) {
        Path svc = data.resolve("services");
        Map<String, ServiceProcess> services = new LinkedHashMap<>();
        add(services, "soup-builder", List.of("soup-builder", "--recipe", "name=" + DemoStages.RECIPE + ",base=" + base
                + ",k=" + SoakRun.profile(seed).sftModels(), "--work-dir", svc.resolve("soup-builder/work").toString()),
                common(bootstrap, blobStore, svc, "soup-builder"), JVM);
        add(services, "reward-scorer", List.of("score", "--model-name", DemoStages.REWARD_MODEL_NAME, "--scorer-id",
                "soak-scorer", "--state-dir", svc.resolve("reward-scorer/state").toString()),
                common(bootstrap, blobStore, svc, "reward-scorer"), JVM);
        for (int g = 1; g <= 2; g++) {
            String name = "generator-" + g;
            add(services, name, List.of("generate", "--id", "soak-generator-" + g, "--state-dir",
                    svc.resolve(name + "/state").toString(), "-n", Integer.toString(SoakRun.SAMPLES_PER_PROMPT),
                    "--batch-size", Integer.toString(SoakRun.BATCH_SIZE), "--max-new-tokens", "16", "--seed",
                    Long.toString(seed), "--max-staleness", "1", "--learner-batch-rollouts",
                    Integer.toString(SoakRun.BATCH_SIZE), "--run-id", SoakRun.RUN, "--initial-weights",
                    "soup:" + DemoStages.RECIPE, "--device", "cpu"), common(bootstrap, blobStore, svc, name), JVM);
        }
        add(services, "learner", List.of("learn", "--run", SoakRun.RUN, "--recipe", DemoStages.RECIPE, "--init-from",
                "soup", "--save-steps", "1",
                "--set", "batch_size=" + SoakRun.BATCH_SIZE, "--set", "mini_batch_size=" + SoakRun.BATCH_SIZE / 2,
                "--set", "learning_rate=1e-4", "--set", "init_kl_coef=0.1", "--set", "max_staleness=2",
                "--set", "seed=" + seed, "--set", "guard_action=warn",
                "--set", "checkpoint_keep_every=" + keepEvery, "--set", "checkpoint_keep_last=" + keepLast),
                common(bootstrap, blobStore, svc, "learner"), LARGE_JVM);
        add(services, "ingest", List.of("ingest", "--port", Integer.toString(ingestPort), "--raters", raters,
                "--rate", "50", "--burst", "50", "--bootstrap", bootstrap), List.of(), JVM);
        return services;
    }

    /** {@code salsa replay --run soak}, not started. */
    ServiceProcess replay(String bootstrap, String blobStore) {
        Path svc = data.resolve("services");
        return new ServiceProcess("replay", List.of("replay", "--run", SoakRun.RUN, "--bootstrap", bootstrap,
                "--blob-store", blobStore, "--cache-dir", svc.resolve("replay/cache").toString()), LARGE_JVM, ENV,
                logs.resolve("replay.log"));
    }

    private static List<String> common(String bootstrap, String blobStore, Path svc, String name) {
        // each service's metrics and health endpoint on a free port: the commands' fixed defaults (9400 for every
        // generator) would collide with the second generator on this one host
        return List.of("--bootstrap", bootstrap, "--blob-store", blobStore, "--cache-dir",
                svc.resolve(name + "/cache").toString(), "--metrics-port", "0");
    }

    private void add(Map<String, ServiceProcess> services, String name, List<String> args, List<String> common,
            List<String> jvm) {
        List<String> all = new ArrayList<>(args);
        all.addAll(common);
        services.put(name, new ServiceProcess(name, all, jvm, ENV, logs.resolve(name + ".log")));
    }

    private static long countLines(Path file, String containing) {
        try {
            return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8).stream()
                    .filter(l -> l.contains(containing)).count() : 0;
        } catch (IOException e) {
            return 0;
        }
    }
}
