package io.salsa.cli.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.cli.Salsa;
import io.salsa.runtime.blob.Sha256;
import io.salsa.testkit.Conditions;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.Probes;
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
 * environment (compose's {@code ${VAR:-default}} interpolation applied), against the in-process broker, until each
 * answers its probes. What is mapped, because the containers' neighbours do not exist here, is listed in
 * {@link #localise}; docs/deploy.md says what this proves and what it does not.
 */
@ExtendWith(KafkaExtension.class)
class ComposeAsProcessesTest {

    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    /** The salsa services of the compose file (the ones that run the salsa image). */
    static final List<String> SERVICES = List.of("soup-builder", "feedback-ingest", "reward-scorer",
            "rollout-generator", "ppo-learner");
    static final Pattern INTERPOLATION = Pattern.compile("\\$\\{([A-Z0-9_]+)(?::?-([^}]*))?}");

    @Test
    @SuppressWarnings("unchecked")
    void shouldStartEveryServiceOfTheComposeFileAsAProcessAndSeeItsProbes(TestKafka kafka, @TempDir Path tmp)
            throws Exception {
        Map<String, Object> compose = new Yaml().load(Files.readString(ROOT.resolve("docker-compose.yml")));
        Map<String, Map<String, Object>> services = (Map<String, Map<String, Object>>) compose.get("services");
        // what an operator puts in .env: the only setting compose has no default for
        Map<String, String> operator = Map.of("SALSA_INGEST_RATERS", "alice:" + Sha256.of(
                "alice-token".getBytes(StandardCharsets.UTF_8)));
        List<Running> running = new ArrayList<>();
        try {
            for (String name : SERVICES) {
                Map<String, Object> service = services.get(name);
                assertEquals("salsa-stream/salsa:0.1.0", service.get("image"), name);
                List<String> command = (List<String>) service.get("command");
                Map<String, String> env = new LinkedHashMap<>();
                ((Map<String, Object>) service.get("environment")).forEach((k, v) ->
                        env.put(k, interpolate(String.valueOf(v), operator)));
                Path home = Files.createDirectories(tmp.resolve(name));
                int port = freePort();
                Map<String, String> local = localise(env, kafka.bootstrapServers(), home, tmp.resolve("blobs"), port);
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
            // no SFT model was published, so there is no soup: generator and learner are alive and wait for it
            Running generator = running.get(3);
            Running learner = running.get(4);
            assertTrue(Probes.get(generator.port, "/readyz").body().startsWith("STARTING waiting for the initial"),
                    Probes.get(generator.port, "/readyz").body());
            assertTrue(Probes.get(learner.port, "/readyz").body().startsWith("STARTING run run-1"),
                    Probes.get(learner.port, "/readyz").body());
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
        for (Running r : running) {
            assertTrue(!r.process.isAlive(), r.name + " stopped on SIGTERM");
        }
    }

    /**
     * What differs from the containers: the compose host names ({@code kafka:9092}) become the in-process broker;
     * the Confluent registry (no server can run here) becomes the embedded one in a topic of that broker; the
     * MinIO bucket becomes a local folder store (the S3 client is tested against S3Proxy on its own); the image's
     * folders ({@code /var/lib/salsa}, {@code /var/cache/djl}) become a folder per service and the local DJL
     * cache; the fixed probe ports become free ones, since several test runs share this machine.
     */
    static Map<String, String> localise(Map<String, String> env, String bootstrap, Path home, Path blobs, int port)
            throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : env.entrySet()) {
            String v = e.getValue().replace("kafka:9092", bootstrap).replace("/var/lib/salsa", home.toString())
                    .replace("/var/cache/djl", Path.of(System.getProperty("user.home"), ".djl.ai").toString());
            out.put(e.getKey(), v);
        }
        assertEquals("http://schema-registry:8081", out.put("SALSA_SCHEMA_REGISTRY", "embedded"));
        assertEquals("s3://salsa-blobs/", out.put("SALSA_BLOB_STORE",
                Files.createDirectories(blobs).toUri().toString()));
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
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classpath(), Salsa.class.getName()));
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(home.toFile()).redirectErrorStream(true)
                .redirectOutput(home.resolve("out.log").toFile());
        pb.environment().clear();
        pb.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        pb.environment().put("HOME", home.toString());
        pb.environment().putAll(env);
        return new Running(name, pb.start(), port, home.resolve("out.log"));
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
