package io.salsa.scorer;

import io.salsa.events.DeadLetter;
import io.salsa.events.Rollout;
import io.salsa.schemas.DeadLetters;
import io.salsa.schemas.serde.SerdeException;
import java.util.Optional;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * Decodes and validates each raw rollout record before it can reach a reward-model batch: valid records pass
 * on untouched (as bytes) to the batcher, undecodable or invalid ones go to the dead-letter topic with the
 * reason, and processing continues.
 */
final class RolloutIntakeProcessor implements Processor<byte[], byte[], byte[], Object> {

    private final Deserializer<Rollout> rollouts;
    private final String batcherName;
    private final String deadLetterSinkName;
    private final String service;
    private final ScorerMetrics metrics;
    private ProcessorContext<byte[], Object> context;

    RolloutIntakeProcessor(Deserializer<Rollout> rollouts, String batcherName, String deadLetterSinkName, String service,
                           ScorerMetrics metrics) {
        this.rollouts = rollouts;
        this.batcherName = batcherName;
        this.deadLetterSinkName = deadLetterSinkName;
        this.service = service;
        this.metrics = metrics;
    }

    @Override
    public void init(ProcessorContext<byte[], Object> context) {
        this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        RecordMetadata meta = context.recordMetadata().orElseThrow();
        Optional<String> problem;
        Throwable error;
        try {
            Rollout rollout = rollouts.deserialize(meta.topic(), record.value());
            if (rollout == null) {
                problem = Optional.of("null value (tombstone) where a Rollout was expected");
            } else {
                problem = RolloutValidator.problem(rollout);
            }
            error = problem.map(InvalidRolloutException::new).orElse(null);
        } catch (SerdeException e) {
            if (!e.reason().poison()) {
                throw e; // e.g. the registry is down: retrying later can succeed, so do not dead-letter
            }
            error = e.at(meta.partition(), meta.offset());
        }
        if (error == null) {
            context.forward(record, batcherName);
            return;
        }
        DeadLetter letter = DeadLetters.of(meta.topic(), meta.partition(), meta.offset(), record.key(),
                record.value(), error, service, context.currentSystemTimeMs());
        context.forward(record.withValue(letter), deadLetterSinkName);
        metrics.recordDeadLetter();
    }

    /** A rollout that decoded but breaks an invariant the learner relies on. */
    static final class InvalidRolloutException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InvalidRolloutException(String message) {
            super(message);
        }
    }
}
