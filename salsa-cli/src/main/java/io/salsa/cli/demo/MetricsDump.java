package io.salsa.cli.demo;

import io.salsa.cli.report.MetricsLog;
import io.salsa.cli.report.StepMetrics;
import io.salsa.events.GuardEvent;
import io.salsa.events.TrainingMetrics;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Copies the metrics topic into a run folder's {@code metrics.jsonl}, so the report (and anyone with a text
 * editor) can read a run without a broker.
 */
public final class MetricsDump {

    private MetricsDump() {
    }

    /** Converts one event; the arm is the soup recipe the learner trained against. */
    public static StepMetrics toStep(TrainingMetrics m, long seed) {
        List<StepMetrics.Guard> guards = new ArrayList<>();
        for (GuardEvent g : m.getGuardEvents()) {
            guards.add(new StepMetrics.Guard(g.getKind(), g.getAction(), g.getDetail()));
        }
        return new StepMetrics(m.getSoupRecipe(), seed, m.getRunId(), m.getStep(), Map.copyOf(m.getMetrics()), guards);
    }

    /**
     * Reads the metrics topic from the beginning to its current end (no consumer group: nothing is committed)
     * and rewrites {@code runDir/metrics.jsonl} with the steps of {@code runIds} (all runs when empty).
     *
     * <p>A record that does not decode is counted in {@link Dumped#skipped()} rather than failing the dump: the
     * report of a long run should not be lost to one bad record (the learner's own dead-letter handling is
     * where such records are diagnosed).
     */
    public static Dumped dump(KafkaSettings kafka, List<String> runIds, long seed, Path runDir) {
        Properties props = new Properties();
        props.putAll(kafka.consumerProps("unused"));
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        Deserializer<TrainingMetrics> values = kafka.valueSerde(Topics.METRICS).deserializer();
        List<StepMetrics> steps = new ArrayList<>();
        int skipped = 0;
        String topic = kafka.topic(Topics.METRICS);
        try (KafkaConsumer<byte[], byte[]> consumer =
                     new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    TrainingMetrics m;
                    try {
                        m = values.deserialize(topic, r.value());
                    } catch (RuntimeException e) {
                        skipped++;
                        continue;
                    }
                    if (runIds.isEmpty() || runIds.contains(m.getRunId())) {
                        steps.add(toStep(m, seed));
                    }
                }
            }
        }
        Path file = runDir.resolve(MetricsLog.FILE_NAME);
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot replace " + file, e);
        }
        MetricsLog.append(file, steps);
        return new Dumped(steps.size(), skipped);
    }

    /**
     * What a dump wrote.
     *
     * @param steps   steps written to {@code metrics.jsonl}
     * @param skipped records of the metrics topic that did not decode
     */
    public record Dumped(int steps, int skipped) {
    }
}
