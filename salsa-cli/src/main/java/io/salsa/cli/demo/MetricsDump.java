package io.salsa.cli.demo;

import io.salsa.cli.report.MetricsLog;
import io.salsa.cli.report.StepMetrics;
import io.salsa.events.GuardEvent;
import io.salsa.events.TrainingMetrics;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
        List<StepMetrics> steps = new ArrayList<>();
        int[] skipped = {0};
        RegistryAvroSerde<TrainingMetrics> serde = kafka.valueSerde(Topics.METRICS);
        KafkaLog.readAll(kafka, kafka.topic(Topics.METRICS)).forEach(KafkaLog.decoding(serde, (r, m) -> {
            if (m == null) {
                skipped[0]++;
            } else if (runIds.isEmpty() || runIds.contains(m.getRunId())) {
                steps.add(toStep(m, seed));
            }
        }, (r, e) -> skipped[0]++));
        Path file = runDir.resolve(MetricsLog.FILE_NAME);
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot replace " + file, e);
        }
        MetricsLog.append(file, steps);
        return new Dumped(steps.size(), skipped[0]);
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
