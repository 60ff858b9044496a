package io.salsa.scorer.rm;

import io.salsa.events.BlobRef;
import io.salsa.events.RewardModelCheckpoint;
import io.salsa.runtime.blob.BlobStore;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/** Reads and writes the compacted reward-models topic: which versions exist, and publishing a new one. */
public final class RewardModelCatalog {

    private RewardModelCatalog() {
    }

    /** The highest version published under {@code name}, read from the whole topic as it is now. */
    public static OptionalLong latestVersion(KafkaSettings settings, String name, Duration timeout) {
        // an undecodable record names no version we could collide with
        return KafkaLog.readValues(settings, Topics.REWARD_MODELS, timeout, (r, e) -> { }).stream()
                .filter(cp -> cp.getName().equals(name))
                .mapToLong(RewardModelCheckpoint::getVersion)
                .max();
    }

    /**
     * Uploads a trained reward-model folder to {@code store} as {@code reward-models/NAME/vVERSION.tar} and
     * publishes its checkpoint (what the scorers' loaders fetch and verify); returns the published checkpoint.
     *
     * @param initFrom what the reward model was initialised from (recorded, not interpreted)
     */
    public static RewardModelCheckpoint uploadAndPublish(KafkaSettings settings, BlobStore store, Path folder,
            String name, long version, String initFrom, RewardModelTrainer.Result result, long seed)
            throws Exception {
        TopicAdmin.ensureTopics(settings, List.of(Topics.REWARD_MODELS));
        io.salsa.runtime.blob.BlobRef ref = store.put(folder, "reward-models/" + name + "/v" + version + ".tar");
        double accuracy = result.after().accuracy();
        RewardModelCheckpoint cp = RewardModelCheckpoint.newBuilder()
                .setName(name).setVersion(version)
                .setBlob(BlobRef.newBuilder().setUri(ref.uri().toString()).setSha256(ref.sha256())
                        .setSizeBytes(ref.size()).build())
                .setInitFrom(initFrom)
                .setTrainPairs(result.trainPairs())
                .setHeldOutPairs(result.after().pairs())
                .setHeldOutAccuracy(Double.isNaN(accuracy) ? 0 : accuracy)
                .setSeed(seed)
                .setCreatedAtMs(System.currentTimeMillis())
                .build();
        publish(settings, cp);
        return cp;
    }

    /** Publishes {@code checkpoint} keyed by its name and waits until Kafka has it (acks=all). */
    public static void publish(KafkaSettings settings, RewardModelCheckpoint checkpoint) throws Exception {
        RegistryAvroSerde<RewardModelCheckpoint> serde = settings.valueSerde(Topics.REWARD_MODELS);
        try (KafkaProducer<String, RewardModelCheckpoint> producer = new KafkaProducer<>(settings.producerProps(),
                new StringSerializer(), serde.serializer())) {
            producer.send(new ProducerRecord<>(settings.topic(Topics.REWARD_MODELS), checkpoint.getName(),
                    checkpoint)).get();
        }
    }
}
