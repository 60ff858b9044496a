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
 * ({@code config -q} works without an engine) and its wiring by reading it: one service per module, built from
 * that module's Dockerfile, running the salsa command the Dockerfile runs, against the compose Kafka and registry.
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
    void shouldRunOneServicePerModuleFromItsDockerfile() throws IOException {
        Map<String, Object> compose = new Yaml().load(Files.readString(COMPOSE));
        Map<String, Map<String, Object>> services = (Map<String, Map<String, Object>>) compose.get("services");
        assertTrue(String.valueOf(services.get("kafka").get("image")).startsWith("apache/kafka:"));
        assertTrue(services.containsKey("schema-registry") && services.containsKey("minio"), services.keySet().toString());
        Map<String, Object> launcher = services.get("salsa");
        assertEquals("salsa-cli/Dockerfile", ((Map<String, Object>) launcher.get("build")).get("dockerfile"));
        String launcherImage = String.valueOf(launcher.get("image"));

        for (Map.Entry<String, String> e : SERVICES.entrySet()) {
            String module = e.getKey();
            Map<String, Object> service = services.get(module);
            assertTrue(service != null, "no service for module " + module);
            Map<String, Object> build = (Map<String, Object>) service.get("build");
            assertEquals(module + "/Dockerfile", build.get("dockerfile"), module);
            assertEquals(".", build.get("context"), module + " builds from the repository root");
            assertEquals(List.of(e.getValue()), service.get("command"), module);

            Path dockerfile = ROOT.resolve(module).resolve("Dockerfile");
            assertTrue(Files.exists(dockerfile), dockerfile + " is missing");
            Matcher cmd = Pattern.compile("(?m)^CMD \\[\"([^\"]+)\"]").matcher(Files.readString(dockerfile));
            assertTrue(cmd.find(), dockerfile + " has no CMD");
            assertEquals(e.getValue(), cmd.group(1), dockerfile + " runs the same command as the service");
            assertTrue(Files.readString(dockerfile).contains("ARG SALSA_IMAGE=" + launcherImage + "\n"),
                    dockerfile + " starts from the launcher image " + launcherImage);
            assertTrue(((Map<String, Object>) service.get("depends_on")).containsKey("salsa"),
                    module + " depends on the launcher service, so the launcher image is built first");

            Map<String, Object> env = (Map<String, Object>) service.get("environment");
            assertEquals("kafka:9092", env.get(KafkaSettings.BOOTSTRAP_ENV), module);
            // the same validation a service runs at start-up
            KafkaSettings.fromEnv(Map.of(KafkaSettings.BOOTSTRAP_ENV, String.valueOf(env.get(KafkaSettings.BOOTSTRAP_ENV)),
                    KafkaSettings.REGISTRY_ENV, String.valueOf(env.get(KafkaSettings.REGISTRY_ENV))));
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
