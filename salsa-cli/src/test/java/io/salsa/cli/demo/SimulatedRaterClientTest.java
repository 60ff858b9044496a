package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.Preference;
import io.salsa.ingest.IngestApp;
import io.salsa.ingest.IngestConfig;
import io.salsa.ingest.IngestKafka;
import io.salsa.ingest.Raters;
import io.salsa.ingest.SyntheticRollouts;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.task.SimulatedRater;
import io.salsa.task.TaskWorld;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(KafkaExtension.class)
class SimulatedRaterClientTest {

    @Test
    void shouldSubmitPreferencesThroughTheHttpApiIntoTheFeedbackTopic(TestKafka kafka) throws Exception {
        KafkaSettings settings = KafkaSettings.embedded(kafka.bootstrapServers(), "raters-test.");
        SyntheticRollouts.publish(settings, "t", 6, 3);
        Map<String, String> env = Map.of(IngestConfig.PORT, "0",
                IngestConfig.RATERS, "sim-1:" + Raters.sha256Hex("tok-1") + ",sim-2:" + Raters.sha256Hex("tok-2"));
        SimulatedRater judge = new SimulatedRater(TaskWorld.generate(1, 12));
        try (IngestApp app = IngestApp.start(IngestConfig.fromEnv(env), new IngestKafka(settings))) {
            URI base = URI.create("http://127.0.0.1:" + app.port() + "/");
            List<SimulatedRaterClient> clients = List.of(new SimulatedRaterClient(base, "sim-1", "tok-1", judge),
                    new SimulatedRaterClient(base, "sim-2", "tok-2", judge));
            List<Thread> threads = new ArrayList<>();
            for (SimulatedRaterClient c : clients) {
                Thread t = new Thread(() -> {
                    try {
                        c.run(() -> c.submitted() >= 5);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                t.start();
                threads.add(t);
            }
            for (Thread t : threads) {
                t.join(60_000);
            }
            assertEquals(5, clients.get(0).submitted());
            assertEquals(5, clients.get(1).submitted());
        }

        List<Preference> prefs = readAll(settings);
        assertEquals(10, prefs.size());
        Set<String> raters = new HashSet<>();
        prefs.forEach(p -> raters.add(p.getRaterId()));
        assertEquals(Set.of("sim-1", "sim-2"), raters);
        assertTrue(prefs.stream().allMatch(p -> p.getResponseB() != null));
    }

    private static List<Preference> readAll(KafkaSettings settings) {
        return KafkaLog.readValues(settings, Topics.FEEDBACK, Duration.ofSeconds(60), (r, e) -> {
            throw e;
        });
    }
}
