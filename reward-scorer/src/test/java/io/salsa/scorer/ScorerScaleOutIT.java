package io.salsa.scorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.ScoredRollout;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(KafkaExtension.class)
class ScorerScaleOutIT {

    @TempDir
    Path dir;

    private static Set<String> activePartitions(KafkaStreams streams) {
        return streams.metadataForLocalThreads().stream()
                .flatMap(t -> t.activeTasks().stream()).flatMap(t -> t.topicPartitions().stream())
                .map(Object::toString).collect(Collectors.toSet());
    }

    @Test
    void shouldSplitPartitionsBetweenTwoInstancesAndScoreEachRolloutOnceAcrossTheRebalance(TestKafka kafka)
            throws Exception {
        ScorerCluster cluster = new ScorerCluster(kafka.bootstrapServers(), "scaleout-" + System.nanoTime() + ".");
        cluster.produceRollouts("a", 400);
        ScorerMetrics metricsA = new ScorerMetrics();
        ScorerMetrics metricsB = new ScorerMetrics();
        KafkaStreams a = cluster.startInstance("scorer-a", dir.resolve("a"), 30, metricsA);
        KafkaStreams b = null;
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (metricsA.scored() < 40) {
                assertTrue(System.nanoTime() < deadline, "instance a scored nothing");
                Thread.sleep(20);
            }
            b = cluster.startInstance("scorer-b", dir.resolve("b"), 30, metricsB); // rebalance mid-stream
            long splitDeadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (activePartitions(b).isEmpty() || activePartitions(a).size() + activePartitions(b).size() != 4) {
                assertTrue(System.nanoTime() < splitDeadline, "the instances did not split the partitions: a "
                        + activePartitions(a) + ", b " + activePartitions(b));
                Thread.sleep(50);
            }
            cluster.produceRollouts("b", 200); // keys hash to every partition: both instances get some
            List<ScoredRollout> seen = cluster.readScored(ScorerCluster.distinctAtLeast(600), Duration.ofSeconds(90));
            assertEquals(600, ScorerCluster.occurrences(seen).size(), "every rollout was scored");
        } finally {
            a.close(Duration.ofSeconds(30));
            if (b != null) {
                b.close(Duration.ofSeconds(30));
            }
        }
        List<ScoredRollout> all = cluster.readAllScored();
        Map<String, Integer> counts = ScorerCluster.occurrences(all);
        assertEquals(600, counts.size());
        assertEquals(Map.of(), counts.entrySet().stream().filter(e -> e.getValue() != 1)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)), "no rollout scored twice");
        assertEquals(Set.of("scorer-a", "scorer-b"), all.stream().map(ScoredRollout::getScorerId)
                .collect(Collectors.toSet()), "both instances did part of the work");
    }
}
