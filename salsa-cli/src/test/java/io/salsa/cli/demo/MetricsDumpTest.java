package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.salsa.cli.report.MetricsLog;
import io.salsa.cli.report.StepMetrics;
import io.salsa.events.GuardEvent;
import io.salsa.events.TrainingMetrics;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(KafkaExtension.class)
class MetricsDumpTest {

    private static TrainingMetrics metrics(String run, long step, List<GuardEvent> guards) {
        return TrainingMetrics.newBuilder().setRunId(run).setStep(step).setSoupRecipe("salsa-k2").setSoupVersion(1)
                .setPolicyVersion(step).setMetrics(Map.of("objective/kl", 0.1 * step, "objective/scores", 1.0))
                .setGuardEvents(guards).setCreatedAtMs(step).build();
    }

    @Test
    void shouldDumpTheMetricsTopicOfTheWantedRunsSkippingUndecodableRecords(TestKafka kafka, @TempDir Path dir) {
        KafkaSettings settings = KafkaSettings.embedded(kafka.bootstrapServers(), "dump-test-");
        TopicAdmin.ensureTopics(settings, List.of(Topics.METRICS));
        String topic = settings.topic(Topics.METRICS);
        var serde = settings.valueSerde(Topics.METRICS);
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(settings.producerProps(),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(topic, serde.serialize(topic, metrics("r1", 1, List.of()))));
            p.send(new ProducerRecord<>(topic, new byte[] {1, 2, 3}));
            p.send(new ProducerRecord<>(topic, serde.serialize(topic, metrics("r2", 1, List.of()))));
            p.send(new ProducerRecord<>(topic, serde.serialize(topic, metrics("r1", 2,
                    List.of(new GuardEvent("negative_kl", "warn", "kl -0.2"))))));
        }

        MetricsDump.Dumped dumped = MetricsDump.dump(settings, List.of("r1"), 3, dir);

        assertEquals(new MetricsDump.Dumped(2, 1), dumped);
        List<StepMetrics> steps = MetricsLog.read(dir.resolve(MetricsLog.FILE_NAME));
        assertEquals(List.of(1L, 2L), steps.stream().map(StepMetrics::step).toList());
        assertEquals("salsa-k2", steps.get(0).arm());
        assertEquals(3, steps.get(0).seed());
        assertEquals(List.of(new StepMetrics.Guard("negative_kl", "warn", "kl -0.2")), steps.get(1).guardEvents());
        assertEquals(0.2, steps.get(1).metrics().get("objective/kl"), 1e-12);

        // a second dump replaces, not appends
        MetricsDump.dump(settings, List.of(), 0, dir);
        assertEquals(3, MetricsLog.read(dir.resolve(MetricsLog.FILE_NAME)).size());
    }
}
