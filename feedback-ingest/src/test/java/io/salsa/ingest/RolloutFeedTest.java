package io.salsa.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The rollout feed on the real broker: the backlog it reads at start, bounded per partition, bad records skipped. */
@ExtendWith(KafkaExtension.class)
class RolloutFeedTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void shouldReadTheWholeBacklogBeforeReportingCaughtUpAndStepOverUndecodableRecords(TestKafka broker)
            throws Exception {
        KafkaSettings settings = settings(broker);
        long pairs = SyntheticRollouts.publish(settings, "backlog", 3, 2);
        sendGarbage(settings, "backlog-p0");
        TaskBoard board = new TaskBoard(4, 100, 60_000);
        IngestMetrics metrics = new IngestMetrics();
        try (RolloutFeed feed = new RolloutFeed(settings, Long.MAX_VALUE, board, metrics).start()) {
            assertTrue(feed.awaitCaughtUp(WAIT));
            assertEquals(pairs, board.pairsInPool());
            assertTrue(metrics.render().contains("salsa_ingest_rollouts_consumed_total 6\n"),
                    "the undecodable record is not a rollout seen");
            assertTrue(metrics.render().contains("salsa_ingest_rollouts_skipped_total 0\n"));
        }
    }

    @Test
    void shouldReadOnlyTheLastRolloutsOfEachPartition(TestKafka broker) throws Exception {
        KafkaSettings settings = settings(broker);
        // one prompt: its four rollouts share a key, hence a partition
        SyntheticRollouts.publish(settings, "bounded", 1, 4);
        TaskBoard board = new TaskBoard(4, 100, 60_000);
        IngestMetrics metrics = new IngestMetrics();
        try (RolloutFeed feed = new RolloutFeed(settings, 2, board, metrics).start()) {
            assertTrue(feed.awaitCaughtUp(WAIT));
            assertEquals(1, board.pairsInPool(), "two rollouts of one prompt make one pair");
            assertTrue(metrics.render().contains("salsa_ingest_rollouts_consumed_total 2\n"));
        }
    }

    private static KafkaSettings settings(TestKafka broker) {
        return KafkaSettings.embedded(broker.bootstrapServers(), "feed-" + UUID.randomUUID().toString().substring(0, 8)
                + ".");
    }

    private static void sendGarbage(KafkaSettings settings, String key) throws Exception {
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(settings.producerProps(), new StringSerializer(),
                new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(settings.topic(Topics.ROLLOUTS), key,
                    "not a rollout".getBytes(StandardCharsets.UTF_8))).get();
        }
    }
}
