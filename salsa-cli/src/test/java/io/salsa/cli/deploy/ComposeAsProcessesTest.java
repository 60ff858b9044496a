package io.salsa.cli.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.cli.Salsa;
import io.salsa.runtime.blob.Sha256;
import io.salsa.testkit.Conditions;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.Probes;
import io.salsa.testkit.S3ProxyFixture;
import io.salsa.testkit.S3ProxyProcess;
import io.salsa.testkit.TestKafka;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * docker-compose.yml as it would run, without Docker: every salsa service of the file is started as an OS process
 * running the image's entrypoint ({@code java -cp … io.salsa.cli.Salsa}) with exactly the service's command and
 * environment (compose's {@code ${VAR:-default}} interpolation applied), against the in-process broker and a real S3
 * server (S3Proxy, in place of MinIO), until each answers its probes; then runs an operator's first steps with the
 * {@code salsa} command under compose's shared environment (a task, a base, two SFT models published, a reward model
 * published, prompts loaded) and waits until a policy checkpoint of the learner comes back to the generator. What is
 * mapped, because the containers' neighbours do not exist here, is listed in {@link #localise}; the one setting
 * added, a shorter way to the learner's first checkpoint, in {@link #smallerLearnerSteps}; docs/deploy.md says what
 * this proves and what it does not.
 */
@ExtendWith(KafkaExtension.class)
class ComposeAsProcessesTest {

    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    /** The salsa services of the compose file (the ones that run the salsa image). */
    static final List<String> SERVICES = List.of("soup-builder", "feedback-ingest", "reward-scorer",
            "rollout-generator", "ppo-learner");
    static final Path DASHBOARD = ROOT.resolve("docs/grafana/salsa-loop.json");
    /** The base id the operator publishes the SFT models under and names in the soup recipe. */
    static final String BASE_ID = "tiny-task-base";
    static final Pattern INTERPOLATION = Pattern.compile("\\$\\{([A-Z0-9_]+)(?::?-([^}]*))?}");

    @Test
    @SuppressWarnings("unchecked")
    void shouldRunTheComposeFileAsProcessesFromFirstStartToPolicyCheckpointsBackAtTheGenerator(TestKafka kafka,
            @TempDir Path tmp) throws Exception {
        Map<String, Object> compose = new Yaml().load(Files.readString(ROOT.resolve("docker-compose.yml")));
        Map<String, Map<String, Object>> services = (Map<String, Map<String, Object>>) compose.get("services");
        // what an operator puts in .env: the raters (no default), the soup recipe for the base the SFT models below
        // name, and the object store's credentials (MinIO's root user; here the ones S3Proxy accepts)
        Map<String, String> operator = Map.of(
                "SALSA_INGEST_RATERS", "alice:" + Sha256.of("alice-token".getBytes(StandardCharsets.UTF_8)),
                "SALSA_SOUP_RECIPES", "name=pair,base=" + BASE_ID + ",k=2",
                "MINIO_ROOT_USER", S3ProxyFixture.ACCESS_KEY, "MINIO_ROOT_PASSWORD", S3ProxyFixture.SECRET_KEY);
        List<Running> running = new ArrayList<>();
        try (S3ProxyProcess s3 = S3ProxyProcess.start(tmp.resolve("s3"), "salsa-blobs")) {
            try {
                for (String name : SERVICES) {
                    Map<String, Object> service = services.get(name);
                    assertEquals("salsa-stream/salsa:0.1.0", service.get("image"), name);
                    List<String> command = (List<String>) service.get("command");
                    Path home = Files.createDirectories(tmp.resolve(name));
                    int port = freePort();
                    Map<String, String> local = localise(environment(service, operator), kafka.bootstrapServers(),
                            s3.endpoint().toString(), home, port);
                    if (name.equals("ppo-learner")) {
                        local.putAll(smallerLearnerSteps(local));
                    }
                    running.add(start(name, command, local, home, port));
                }
                for (Running r : running) {
                    r.await("/healthz");
                }
                // ready: ingest (port open after its history), soup builder (following sft-models), scorer (streams up)
                for (Running r : running.subList(0, 3)) {
                    r.await("/readyz");
                    String scrape = Probes.get(r.port, "/metrics").body();
                    assertTrue(scrape.contains("jvm_memory_used_bytes{"), r.name + " serves JVM metrics");
                }
                // nothing published yet, so there is no soup: generator and learner are alive and wait for it
                Running generator = running.get(3);
                Running learner = running.get(4);
                assertTrue(Probes.get(generator.port, "/readyz").body().startsWith("STARTING waiting for the initial"),
                        Probes.get(generator.port, "/readyz").body());
                assertTrue(Probes.get(learner.port, "/readyz").body().startsWith("STARTING run run-1"),
                        Probes.get(learner.port, "/readyz").body());

                // the operator's first steps, with the salsa command under compose's shared environment
                Map<String, String> shared = localise(environment(compose.get("x-salsa-env"), operator),
                        kafka.bootstrapServers(), s3.endpoint().toString(), Files.createDirectories(
                                tmp.resolve("operator")), 0);
                Path work = tmp.resolve("operator");
                operator(work, shared, "task", "generate", "--out", "task", "--seed", "7", "--entities", "6");
                operator(work, shared, "pretrain", "--task", "task", "--out", "base", "--layers", "1", "--width",
                        "32", "--heads", "2", "--max-steps", "20");
                for (int seed = 1; seed <= 2; seed++) {
                    operator(work, shared, "sft", "train", "--data", "task/sft-train.jsonl", "--base", "base",
                            "--seed", Integer.toString(seed), "--out", "sft-" + seed, "--max-steps", "10");
                    operator(work, shared, "sft", "publish", "sft-" + seed, "--base", BASE_ID);
                }
                operator(work, shared, "rm", "train", "--data", "task/preferences.jsonl", "--init", "sft-1",
                        "--out", "rm", "--max-steps", "10", "--publish");
                // the learner publishes every save_steps (2 here) steps of batch_size (16 here) rollouts, and steps
                // once more: 3 × 16 / 4 samples = 12 prompts at least; the task has 54 training prompts
                operator(work, shared, "prompts", "load", "task/prompts-train.jsonl", "--epochs", "1");

                // soup → generator and learner ready → rollouts scored → learner steps → checkpoint → generator
                generator.await("/readyz");
                learner.await("/readyz");
                Conditions.await("the generator switched to a policy checkpoint of the learner", Duration.ofMinutes(6),
                        () -> {
                            generator.alive();
                            learner.alive();
                            return gauge(generator.port, "salsa_generator_policy_version") >= 1;
                        });
                try (var objects = Files.walk(tmp.resolve("s3").resolve("salsa-blobs"))) {
                    assertTrue(objects.filter(Files::isRegularFile).count() >= 4,
                            "SFT models, the soup, the reward model and the checkpoint went through S3");
                }
                for (Running r : running) {
                    assertTrue(r.process.isAlive(), r.name + " is still running\n" + r.log());
                }
                // a learner step past the checkpoint, so its gauges exist; then every series the dashboard queries
                // must be served by some service
                double version = gauge(learner.port, "salsa_learner_policy_version");
                Conditions.await("a learner step after the checkpoint", Duration.ofMinutes(2),
                        () -> gauge(learner.port, "salsa_learner_policy_version") > version);
                StringBuilder scrapes = new StringBuilder();
                for (Running r : running) {
                    String body = Probes.get(r.port, "/metrics").body();
                    Files.writeString(Path.of("target", "compose-scrape-" + r.name + ".txt"), body);
                    scrapes.append(body).append('\n');
                }
                assertDashboardSeriesServed(scrapes.toString());
            } finally {
                for (Running r : running) {
                    r.process.destroy(); // SIGTERM, as docker stop
                }
                for (Running r : running) {
                    if (!r.process.waitFor(90, TimeUnit.SECONDS)) {
                        r.process.destroyForcibly();
                    }
                }
            }
        }
        for (Running r : running) {
            assertTrue(!r.process.isAlive(), r.name + " stopped on SIGTERM");
        }
    }

    /** Every metric the Grafana dashboard of the loop queries is exported by a service of the compose file. */
    static void assertDashboardSeriesServed(String scrapes) throws IOException {
        List<String> missing = new ArrayList<>();
        int queried = 0;
        for (var expr : new com.fasterxml.jackson.databind.ObjectMapper().readTree(DASHBOARD.toFile())
                .findValues("expr")) {
            Matcher metric = Pattern.compile("\\b(?:salsa|kafka|jvm|process)_[a-z0-9_]+").matcher(expr.asText());
            while (metric.find()) {
                queried++;
                if (!Pattern.compile("(?m)^" + metric.group() + "[{ ]").matcher(scrapes).find()) {
                    missing.add(metric.group());
                }
            }
        }
        assertTrue(queried >= 10, "the dashboard queries the loop's metrics: " + queried);
        assertEquals(List.of(), missing, "queried by " + DASHBOARD + " but served by no service");
    }

    /**
     * What the test sets on top of the learner's compose environment, through the variables an operator would put
     * in its {@code environment} block: a policy checkpoint every 2 steps of 16 rollouts instead of the defaults'
     * 10 steps of 64. The defaults need 640 rollouts generated and scored on two CPU cores before the first
     * checkpoint; what this test proves (the file's services, as written, run as processes and a checkpoint goes
     * from the learner back to the generator) does not depend on how many. Fails if the compose file sets one of
     * them itself, so the test never hides the file's own value.
     */
    static Map<String, String> smallerLearnerSteps(Map<String, String> learnerEnv) {
        Map<String, String> smaller = Map.of("SALSA_LEARNER_SAVE_STEPS", "2", "SALSA_LEARNER_BATCH_SIZE", "16");
        for (String key : smaller.keySet()) {
            assertTrue(!learnerEnv.containsKey(key), key + " is set by docker-compose.yml; the test would override it");
        }
        return smaller;
    }

    /** A compose environment block with compose's interpolation of the operator's .env applied. */
    @SuppressWarnings("unchecked")
    static Map<String, String> environment(Object serviceOrBlock, Map<String, String> operator) {
        Map<String, Object> block = serviceOrBlock instanceof Map<?, ?> m && m.containsKey("environment")
                ? (Map<String, Object>) m.get("environment") : (Map<String, Object>) serviceOrBlock;
        Map<String, String> env = new LinkedHashMap<>();
        block.forEach((k, v) -> env.put(k, interpolate(String.valueOf(v), operator)));
        return env;
    }

    /**
     * What differs from the containers: the compose host names become local servers ({@code kafka:9092} the
     * in-process broker, {@code minio:9000} an S3Proxy process, a real S3 API with signatures checked); the Confluent
     * registry (no server can run here) becomes the embedded one in a topic of that broker; the image's folders
     * ({@code /var/lib/salsa}, {@code /var/cache/djl}) become a folder per service and the local DJL cache; the fixed
     * probe ports become free ones, since several test runs share this machine. {@code port} 0: not a service.
     */
    static Map<String, String> localise(Map<String, String> env, String bootstrap, String s3, Path home, int port) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : env.entrySet()) {
            String v = e.getValue().replace("kafka:9092", bootstrap).replace("http://minio:9000", s3)
                    .replace("/var/lib/salsa", home.toString())
                    .replace("/var/cache/djl", Path.of(System.getProperty("user.home"), ".djl.ai").toString());
            out.put(e.getKey(), v);
        }
        assertEquals("http://schema-registry:8081", out.put("SALSA_SCHEMA_REGISTRY", "embedded"));
        assertEquals("s3://salsa-blobs/", out.get("SALSA_BLOB_STORE"));
        assertEquals(s3, out.get("AWS_ENDPOINT_URL"), "the AWS SDK's endpoint variable points at the object store");
        if (port == 0) {
            return out;
        }
        if (out.containsKey("SALSA_INGEST_PORT")) {
            out.put("SALSA_INGEST_PORT", Integer.toString(port));
            out.put("SALSA_INGEST_HOST", "127.0.0.1");
        } else {
            assertTrue(out.containsKey("SALSA_METRICS_PORT"), "every service names its probe port");
            out.put("SALSA_METRICS_PORT", Integer.toString(port));
        }
        return out;
    }

    static String interpolate(String value, Map<String, String> operator) {
        Matcher m = INTERPOLATION.matcher(value);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String set = operator.get(m.group(1));
            String v = set != null && !set.isEmpty() ? set : m.group(2) == null ? "" : m.group(2);
            m.appendReplacement(sb, Matcher.quoteReplacement(v));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    private static Running start(String name, List<String> command, Map<String, String> env, Path home, int port)
            throws IOException {
        return new Running(name, salsa(command, env, home, home.resolve("out.log")).start(), port,
                home.resolve("out.log"));
    }

    /** {@code salsa ARGS} in {@code work} as the operator runs it, under {@code env}; fails with its output. */
    private static void operator(Path work, Map<String, String> env, String... args) throws Exception {
        Path log = work.resolve(String.join("-", args).replaceAll("[^A-Za-z0-9.-]", "_") + ".log");
        Process p = salsa(List.of(args), env, work, log).start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
        }
        assertEquals(0, p.isAlive() ? -1 : p.exitValue(), "salsa " + String.join(" ", args) + ":\n"
                + Files.readString(log));
    }

    /** The image's entrypoint ({@code java -cp … Salsa}) with a clean environment, as a container has. */
    private static ProcessBuilder salsa(List<String> command, Map<String, String> env, Path dir, Path log) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx768m", "-cp", classpath(), Salsa.class.getName()));
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().clear();
        pb.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        pb.environment().put("HOME", dir.toString());
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().putAll(env);
        return pb;
    }

    /** The value of an unlabelled or labelled gauge in a service's scrape; -1 when it has none yet. */
    private static double gauge(int port, String name) {
        try {
            Matcher m = Pattern.compile("(?m)^" + name + "(?:\\{[^}]*})? (\\S+)$")
                    .matcher(Probes.get(port, "/metrics").body());
            return m.find() ? Double.parseDouble(m.group(1)) : -1;
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** The test's runtime classpath without the test classes: what the image's /app/lib holds. */
    private static String classpath() {
        List<String> entries = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!e.endsWith("test-classes")) {
                entries.add(e);
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    private static int status(int port, String path) {
        try {
            return Probes.get(port, path).status();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private record Running(String name, Process process, int port, Path logFile) {
        /** Waits until {@code path} answers 200; a process that exits or a timeout fails with the process's log. */
        void await(String path) throws InterruptedException {
            try {
                Conditions.await(name + " answers " + path + " with 200", Duration.ofMinutes(4), () -> {
                    if (!process.isAlive()) {
                        throw new AssertionError(name + " exited with " + process.exitValue());
                    }
                    return status(port, path) == 200;
                });
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; its output:\n" + log(), e);
            }
        }

        /** Fails with the process's log when it has exited. */
        void alive() {
            if (!process.isAlive()) {
                throw new AssertionError(name + " exited with " + process.exitValue() + "; its output:\n" + log());
            }
        }

        String log() {
            try {
                String all = Files.readString(logFile);
                return all.length() > 4000 ? all.substring(all.length() - 4000) : all;
            } catch (IOException e) {
                return "(no log: " + e + ")";
            }
        }
    }
}
