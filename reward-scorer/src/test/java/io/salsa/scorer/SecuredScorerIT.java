package io.salsa.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.salsa.events.ScoredRollout;
import io.salsa.schemas.KafkaClientConfig;
import io.salsa.schemas.KafkaSettings;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.SecuredTestKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reward scorer's real Kafka Streams app (exactly-once: transactions, internal topics, its consumer group) on a
 * SASL/SCRAM + ACL broker, logged in through {@code SALSA_KAFKA_*} variables as a user whose only grant is the
 * deployment's prefix: it works only because every client gets the credentials and the application id carries
 * the prefix.
 */
@ExtendWith(KafkaExtension.class)
class SecuredScorerIT {

    @TempDir
    Path dir;

    @Test
    void shouldScoreEveryRolloutOnceAsAUserGrantedOnlyItsDeploymentPrefix(SecuredTestKafka kafka) throws Exception {
        String prefix = "secscorer" + System.nanoTime() + ".";
        String user = "scorer" + System.nanoTime();
        Map<String, String> env = new HashMap<>(Map.of(KafkaSettings.BOOTSTRAP_ENV, kafka.bootstrapServers(),
                KafkaSettings.PREFIX_ENV, prefix));
        kafka.user(user, "scorer-pw", prefix).forEach((k, v) -> env.put(KafkaClientConfig.variableName(k), v));
        KafkaSettings settings = KafkaSettings.fromEnv(env);
        ScorerCluster cluster = new ScorerCluster(settings);
        try {
            cluster.produceRollouts("s", 12);
            KafkaStreams streams = cluster.startInstance("scorer-1", dir.resolve("state"), 0, new ScorerMetrics());
            try {
                List<ScoredRollout> seen = cluster.readScored(ScorerCluster.distinctAtLeast(12), Duration.ofSeconds(90));
                assertEquals(12, ScorerCluster.occurrences(seen).size(), "every rollout was scored");
            } finally {
                streams.close(Duration.ofSeconds(30));
            }
            Map<String, Integer> counts = ScorerCluster.occurrences(cluster.readAllScored());
            assertEquals(12, counts.size());
            assertEquals(List.of(1), counts.values().stream().distinct().toList(), "each scored once");
        } finally {
            settings.closeRegistry();
        }
    }
}
