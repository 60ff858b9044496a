package io.salsa.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * docker-compose.yml cannot be run here (no Docker engine), so its syntax is checked by docker-compose itself
 * ({@code config -q} works without an engine) and its wiring by reading it: one service per module, all from the
 * one image of the root Dockerfile with their own command, against the compose Kafka, registry and MinIO, each
 * with its probe port published, a health check on it and its working folder in a volume. salsa-cli's
 * {@code ComposeAsProcessesTest} starts the services as processes with exactly this command and environment.
 */
class DockerComposeConfigTest {

    /** Module → the salsa command its service runs. */
    static final Map<String, String> SERVICES = Map.of("feedback-ingest", "ingest", "rollout-generator", "generate",
            "reward-scorer", "score", "soup-builder", "soup-builder", "ppo-learner", "learn");
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final Path COMPOSE = ROOT.resolve("docker-compose.yml");

    @Test
    void shouldBeValidForDockerCompose() throws Exception {
        String binary = onPath("docker-compose");
        assumeTrue(binary != null, "docker-compose is not installed (Debian: apt-get install docker-compose; "
                + ".ci/run installs it), so the compose file's syntax is not checked here");
        Process p = new ProcessBuilder(binary, "-f", COMPOSE.toString(), "config", "-q")
                .directory(ROOT.toFile()).redirectErrorStream(true).start();
        boolean done = p.waitFor(120, TimeUnit.SECONDS);
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) {
            p.destroyForcibly();
        }
        assertTrue(done, "docker-compose config did not finish in 120 s");
        assertEquals(0, p.exitValue(), "docker-compose config -q rejected docker-compose.yml:\n" + output);
    }

    @Test
    @SuppressWarnings("unchecked")
    void shouldRunEveryServiceFromTheOneImageWithItsCommandProbesPortsAndState() throws IOException {
        Map<String, Object> compose = new Yaml().load(Files.readString(COMPOSE));
        Map<String, Map<String, Object>> services = (Map<String, Map<String, Object>>) compose.get("services");
        assertTrue(String.valueOf(services.get("kafka").get("image")).startsWith("apache/kafka:"));
        assertTrue(services.containsKey("schema-registry") && services.containsKey("minio"), services.keySet().toString());
        String dockerfile = Files.readString(ROOT.resolve("Dockerfile"));
        assertTrue(dockerfile.contains("--mount=type=cache,target=/root/.m2"), "the Maven repository is cached");
        assertTrue(dockerfile.contains("\nWORKDIR /var/lib/salsa\n"), "a working folder the service user owns");
        assertTrue(dockerfile.contains("--home-dir /var/lib/salsa"), "the service user has a home");
        assertTrue(dockerfile.contains("curl"), "the health checks' curl is installed");
        assertTrue(dockerfile.contains("-Dlogback.configurationFile=/app/config/logback.xml"), "external log config");
        String image = null;
        for (Map.Entry<String, String> e : SERVICES.entrySet()) {
            String module = e.getKey();
            Map<String, Object> service = services.get(module);
            assertTrue(service != null, "no service for module " + module);
            Map<String, Object> build = (Map<String, Object>) service.get("build");
            assertEquals("Dockerfile", build.get("dockerfile"), module + ": the one image");
            assertEquals(".", build.get("context"), module + " builds from the repository root");
            image = image == null ? String.valueOf(service.get("image")) : image;
            assertEquals(image, service.get("image"), module + " runs the same image as the others");
            assertEquals(e.getValue(), ((List<String>) service.get("command")).get(0), module);

            Map<String, Object> env = (Map<String, Object>) service.get("environment");
            assertEquals("kafka:9092", env.get(KafkaSettings.BOOTSTRAP_ENV), module);
            assertEquals("http://minio:9000", env.get("AWS_ENDPOINT_URL"), module + ": S3 requests go to MinIO");
            // the same validation a service runs at start-up
            KafkaSettings.fromEnv(Map.of(KafkaSettings.BOOTSTRAP_ENV, String.valueOf(env.get(KafkaSettings.BOOTSTRAP_ENV)),
                    KafkaSettings.REGISTRY_ENV, String.valueOf(env.get(KafkaSettings.REGISTRY_ENV))));

            String port = module.equals("feedback-ingest") ? String.valueOf(env.get("SALSA_INGEST_PORT"))
                    : String.valueOf(env.get("SALSA_METRICS_PORT"));
            assertTrue(port.matches("\\d+"), module + " has a probe port: " + port);
            List<String> ports = ((List<Object>) service.get("ports")).stream().map(String::valueOf).toList();
            assertTrue(ports.stream().anyMatch(p -> p.equals(port) || p.endsWith(":" + port)),
                    module + " publishes its metrics port " + port + ": " + ports);
            List<String> check = (List<String>) ((Map<String, Object>) service.get("healthcheck")).get("test");
            assertEquals("http://localhost:" + port + "/healthz", check.get(check.size() - 1), module + " health check");
            List<String> volumes = ((List<Object>) service.get("volumes")).stream().map(String::valueOf).toList();
            // ingest keeps nothing on disk: its history is re-read from the feedback topic at start
            assertTrue(module.equals("feedback-ingest") || volumes.stream().anyMatch(v -> v.endsWith("/var/lib/salsa")),
                    module + " keeps its working folder (state, caches, soup work, runs) in a volume: " + volumes);
        }
    }

    private static String onPath(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            File f = new File(dir, name);
            if (f.canExecute()) {
                return f.getAbsolutePath();
            }
        }
        return null;
    }
}
