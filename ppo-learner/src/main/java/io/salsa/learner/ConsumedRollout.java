package io.salsa.learner;

import io.salsa.events.ScoredRollout;
import io.salsa.schemas.serde.RegistryAvroSerde;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A record read from the scored-rollouts topic with its coordinates; {@code value} is null when the bytes could
 * not be decoded (the record still counts towards the offsets its step covers).
 */
public record ConsumedRollout(String topic, int partition, long offset, ScoredRollout value) {

    /** {@code record} with its value decoded by {@code serde}; a value that does not decode becomes null. */
    public static ConsumedRollout decode(ConsumerRecord<String, byte[]> record,
            RegistryAvroSerde<ScoredRollout> serde) {
        ScoredRollout value = null;
        if (record.value() != null) {
            try {
                value = serde.deserialize(record.topic(), record.value());
            } catch (RuntimeException e) {
                value = null;
            }
        }
        return new ConsumedRollout(record.topic(), record.partition(), record.offset(), value);
    }
}
