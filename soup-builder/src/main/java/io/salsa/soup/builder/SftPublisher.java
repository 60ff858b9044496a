package io.salsa.soup.builder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.events.BlobRef;
import io.salsa.events.SftModelLanded;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.ModelFolder;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Announces an SFT model: uploads its folder to the blob store and publishes {@code SftModelLanded} on the
 * sft-models topic, filling what the caller leaves out from the folder's {@code card.json}. Shared by
 * {@code salsa sft publish} and the demo, so both announce models exactly the way the soup builder expects.
 */
public final class SftPublisher {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SftPublisher() {
    }

    /**
     * The base model id a folder's card names: {@code sha256:<base_weights_sha256>} (the same on any machine),
     * else the card's {@code base}; null when the folder has no card or the card names no base.
     */
    public static String baseOf(Path dir) throws IOException {
        JsonNode card = card(dir);
        if (card == null) {
            return null;
        }
        return card.hasNonNull("base_weights_sha256") ? "sha256:" + card.get("base_weights_sha256").asText()
                : card.hasNonNull("base") ? card.get("base").asText() : null;
    }

    /**
     * Uploads {@code dir} and publishes its landing; waits for Kafka's acknowledgement.
     *
     * @param modelId model id, or null for the folder name
     * @param base    base model id, or null for {@link #baseOf(Path)}
     * @param seed    training seed, or null for the card's {@code seed} (else 0)
     * @throws IllegalArgumentException naming the folder when it is not a model folder or names no base
     */
    public static SftModelLanded publish(KafkaSettings kafka, ModelFolderStore store, Path dir, String modelId,
            String base, Long seed) throws IOException, InterruptedException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + ": not a folder (expected a model folder with "
                    + ModelFolder.CONFIG + " and " + ModelFolder.WEIGHTS + ")");
        }
        if (!Files.isRegularFile(dir.resolve(ModelFolder.WEIGHTS))) {
            throw new IllegalArgumentException(dir + ": no " + ModelFolder.WEIGHTS);
        }
        checkConfig(dir);
        JsonNode card = card(dir);
        String id = modelId != null ? modelId : dir.toAbsolutePath().normalize().getFileName().toString();
        String baseModel = base != null ? base : baseOf(dir);
        if (baseModel == null) {
            throw new IllegalArgumentException("--base is required: " + dir + " has no card.json with a 'base'");
        }
        BlobRef blob = store.putFolder(dir, "sft/" + id.replaceAll("[^A-Za-z0-9._-]", "_"));
        SftModelLanded landed = SftModelLanded.newBuilder()
                .setModelId(id).setBlob(blob).setBaseModel(baseModel)
                .setSeed(seed != null ? seed : card != null ? card.path("seed").asLong(0) : 0)
                .setDataSha256(card != null ? card.path("data_sha256").asText("") : "")
                .setDataDescription(card != null ? card.path("data").asText("") : "")
                .setSteps(card != null ? card.path("steps").asLong(0) : 0)
                .setEvalLoss(card != null && card.path("final_eval_loss").isNumber()
                        && Double.isFinite(card.get("final_eval_loss").asDouble())
                        ? card.get("final_eval_loss").asDouble() : null)
                .setLandedAtMs(System.currentTimeMillis()).build();
        TopicAdmin.ensureTopics(kafka, List.of(Topics.SFT_MODELS));
        String topic = kafka.topic(Topics.SFT_MODELS);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(kafka.producerProps(), new StringSerializer(),
                new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(topic, id, kafka.valueSerde(Topics.SFT_MODELS).serialize(topic, landed))).get();
        } catch (ExecutionException e) {
            throw new IOException("could not publish SFT model " + id + " to " + topic + ": " + e.getCause(),
                    e.getCause());
        }
        return landed;
    }

    /** Refuses a folder whose config.json no model implementation runs, naming the field (GPT-2 or Llama family). */
    static void checkConfig(Path dir) throws IOException {
        String type = CausalLms.modelType(dir);
        if (CausalLms.GPT2_TYPES.contains(type)) {
            GptConfig.load(dir);
        } else if (LlamaConfig.MODEL_TYPES.contains(type)) {
            LlamaConfig.load(dir);
        } else {
            throw new IllegalArgumentException(dir.resolve(ModelFolder.CONFIG) + ": model_type \"" + type
                    + "\" is not supported (supported: " + String.join(", ", CausalLms.supportedModelTypes()) + ")");
        }
    }

    private static JsonNode card(Path dir) throws IOException {
        Path card = dir.resolve(ModelFolder.CARD);
        return Files.isRegularFile(card) ? JSON.readTree(card.toFile()) : null;
    }
}
