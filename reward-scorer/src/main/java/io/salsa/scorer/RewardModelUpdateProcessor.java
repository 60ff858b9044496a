package io.salsa.scorer;

import io.salsa.events.RewardModelCheckpoint;
import io.salsa.schemas.serde.SerdeException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the compacted reward-models topic (as a global store, so every instance sees every checkpoint
 * whatever partitions it owns) and hands each new checkpoint to the {@link RewardModelSlot} to load.
 */
final class RewardModelUpdateProcessor implements Processor<Bytes, byte[], Void, Void> {

    private static final Logger LOG = LoggerFactory.getLogger(RewardModelUpdateProcessor.class);

    private final Deserializer<RewardModelCheckpoint> checkpoints;
    private final RewardModelSlot slot;
    private final String topic;
    private KeyValueStore<Bytes, byte[]> store;

    RewardModelUpdateProcessor(Deserializer<RewardModelCheckpoint> checkpoints, RewardModelSlot slot, String topic) {
        this.checkpoints = checkpoints;
        this.slot = slot;
        this.topic = topic;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
        store = context.getStateStore(RewardScorerApp.REWARD_MODELS_STORE);
        // Kafka Streams restores a global store without calling process(): offer what it restored.
        try (KeyValueIterator<Bytes, byte[]> it = store.all()) {
            while (it.hasNext()) {
                offer(it.next().value);
            }
        }
    }

    @Override
    public void process(Record<Bytes, byte[]> record) {
        if (record.key() == null) {
            return;
        }
        if (record.value() == null) {
            store.delete(record.key());
            return;
        }
        store.put(record.key(), record.value());
        offer(record.value());
    }

    private void offer(byte[] value) {
        RewardModelCheckpoint checkpoint;
        try {
            checkpoint = checkpoints.deserialize(topic, value);
        } catch (SerdeException e) {
            // stays on the compacted topic for inspection; the model in service keeps serving
            LOG.warn("ignoring an undecodable reward-model checkpoint: {}", e.getMessage());
            return;
        }
        slot.offer(checkpoint);
    }
}
