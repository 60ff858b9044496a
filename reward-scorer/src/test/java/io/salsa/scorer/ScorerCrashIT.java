package io.salsa.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.ScoredRollout;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

@ExtendWith(KafkaExtension.class)
class ScorerCrashIT {

    private static final Logger LOG = LoggerFactory.getLogger(ScorerCrashIT.class);
    private static final int ROLLOUTS = 400;

    @TempDir
    Path dir;

    @Test
    void shouldScoreEveryRolloutExactlyOnceWhenAnInstanceIsKilledMidStream(TestKafka kafka) throws Exception {
        String prefix = "crash-" + System.nanoTime() + ".";
        ScorerCluster cluster = new ScorerCluster(kafka.bootstrapServers(), prefix);
        cluster.produceRollouts("r", ROLLOUTS);

        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-cp", System.getProperty("java.class.path"), ScorerChildProcess.class.getName(),
                kafka.bootstrapServers(), prefix, "scorer-victim", dir.resolve("victim").toString(), "100")
                .redirectErrorStream(true).start();
        KafkaStreams survivor = null;
        try {
            CompletableFuture<Boolean> ready = CompletableFuture.supplyAsync(() -> awaitLine(child, ScorerChildProcess.READY));
            assertTrue(ready.get(90, TimeUnit.SECONDS), "the child scorer did not start");
            survivor = cluster.startInstance("scorer-survivor", dir.resolve("survivor"), 100, new ScorerMetrics());
            ScorerCluster.awaitRunning(survivor, Duration.ofSeconds(60));

            // Both are scoring now; wait until the victim has committed some work, then kill -9 it mid-stream.
            List<ScoredRollout> before = cluster.readScored(list -> list.stream()
                    .anyMatch(s -> s.getScorerId().equals("scorer-victim")) && list.size() >= 60,
                    Duration.ofSeconds(90));
            assertTrue(before.stream().anyMatch(s -> s.getScorerId().equals("scorer-victim")),
                    "the victim scored something before the crash");
            assertTrue(before.size() < ROLLOUTS, "the crash must happen mid-stream, " + before.size() + " scored");
            new ProcessBuilder("kill", "-9", Long.toString(child.pid())).start().waitFor();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            assertEquals(137, child.exitValue(), "killed by SIGKILL");
            LOG.info("killed the victim with {} rollouts committed", before.size());

            List<ScoredRollout> seen = cluster.readScored(ScorerCluster.distinctAtLeast(ROLLOUTS),
                    Duration.ofSeconds(120));
            assertEquals(ROLLOUTS, ScorerCluster.occurrences(seen).size(), "the survivor scored the rest");
        } finally {
            child.destroyForcibly();
            if (survivor != null) {
                survivor.close(Duration.ofSeconds(30));
            }
        }
        List<ScoredRollout> all = cluster.readAllScored();
        Map<String, Integer> counts = ScorerCluster.occurrences(all);
        assertEquals(ROLLOUTS, counts.size());
        assertEquals(Map.of(), counts.entrySet().stream().filter(e -> e.getValue() != 1)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)), "no rollout scored twice");
        assertEquals(Set.of("scorer-victim", "scorer-survivor"), all.stream().map(ScoredRollout::getScorerId)
                .collect(Collectors.toSet()));
    }

    /** Waits for {@code wanted} on the child's output, then keeps echoing it so the child never blocks on a full pipe. */
    private static boolean awaitLine(Process process, String wanted) {
        BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        try {
            String line;
            while ((line = r.readLine()) != null) {
                System.out.println("[child] " + line);
                if (line.contains(wanted)) {
                    Thread echo = new Thread(() -> {
                        try {
                            for (String l = r.readLine(); l != null; l = r.readLine()) {
                                System.out.println("[child] " + l);
                            }
                        } catch (java.io.IOException ignored) {
                            // the child is gone
                        }
                    }, "child-output");
                    echo.setDaemon(true);
                    echo.start();
                    return true;
                }
            }
            return false;
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
