package io.salsa.soup.builder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.events.BlobRef;
import io.salsa.events.SftModelKind;
import io.salsa.events.SftModelLanded;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.ModelFolder;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.lora.LoraAdapter;
import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.safetensors.Checkpoint;
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
 *
 * <p>A LoRA adapter folder ({@code adapter_config.json} + {@code adapter_model.safetensors}, as {@code salsa sft
 * train --lora} writes it) is announced as {@link SftModelKind#LORA_ADAPTER} together with its base: the base folder
 * is uploaded too ({@code base}), and its weights hash ({@code baseWeightsSha256}) must be the one the adapter
 * records, so the soup builder can merge the adapter into exactly the base it was trained on.
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
        return publish(kafka, store, dir, modelId, base, null, seed);
    }

    /**
     * As {@link #publish(KafkaSettings, ModelFolderStore, Path, String, String, Long)}; for a LoRA adapter folder
     * also uploads its base and announces it as {@link SftModelKind#LORA_ADAPTER}.
     *
     * @param baseDir a LoRA adapter's base model folder, or null for the card's {@code base} (else the adapter's
     *                {@code base_model_name_or_path} when that is a folder); must be null for a full model
     * @throws IllegalArgumentException naming the folder: not a model or adapter folder, no base, an adapter whose
     *                                  recorded base sha256 is not the base folder's
     */
    public static SftModelLanded publish(KafkaSettings kafka, ModelFolderStore store, Path dir, String modelId,
            String base, Path baseDir, Long seed) throws IOException, InterruptedException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + ": not a folder (expected a model folder with "
                    + ModelFolder.CONFIG + " and " + ModelFolder.WEIGHTS + ", or a LoRA adapter folder with "
                    + LoraConfig.FILE + " and " + LoraAdapter.WEIGHTS_FILE + ")");
        }
        JsonNode card = card(dir);
        String id = modelId != null ? modelId : dir.toAbsolutePath().normalize().getFileName().toString();
        SftModelLanded.Builder landing = SftModelLanded.newBuilder().setModelId(id);
        String baseModel = base;
        if (Files.isRegularFile(dir.resolve(LoraConfig.FILE))) {
            AdapterBase adapterBase = adapterBase(dir, card, baseDir);
            if (baseModel == null) {
                baseModel = "sha256:" + adapterBase.weightsSha256();
            }
            landing.setKind(SftModelKind.LORA_ADAPTER).setBaseWeightsSha256(adapterBase.weightsSha256())
                    .setBase(store.putFolder(adapterBase.dir(), "bases/" + adapterBase.weightsSha256().substring(0, 16)));
        } else {
            if (baseDir != null) {
                throw new IllegalArgumentException("--base-dir is for LoRA adapters: " + dir + " has no "
                        + LoraConfig.FILE);
            }
            if (!Files.isRegularFile(dir.resolve(ModelFolder.WEIGHTS))) {
                throw new IllegalArgumentException(dir + ": no " + ModelFolder.WEIGHTS + " (nor " + LoraConfig.FILE
                        + " of a LoRA adapter)");
            }
            checkConfig(dir);
            if (baseModel == null) {
                baseModel = baseOf(dir);
            }
        }
        if (baseModel == null) {
            throw new IllegalArgumentException("--base is required: " + dir + " has no card.json with a 'base'");
        }
        BlobRef blob = store.putFolder(dir, "sft/" + id.replaceAll("[^A-Za-z0-9._-]", "_"));
        SftModelLanded landed = landing.setBlob(blob).setBaseModel(baseModel)
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

    /** A LoRA adapter's base folder and its weights hash ({@link Checkpoint#weightsSha256}). */
    record AdapterBase(Path dir, String weightsSha256) {
    }

    /**
     * Finds and checks a LoRA adapter's base: {@code baseDir}, else the card's {@code base}, else the adapter's
     * {@code base_model_name_or_path} when it is a folder; refused, naming it, when none is found, when its config
     * is not one the model library runs, or when its weights hash is not the one the adapter records.
     */
    static AdapterBase adapterBase(Path dir, JsonNode card, Path baseDir) throws IOException {
        if (!Files.isRegularFile(dir.resolve(LoraAdapter.WEIGHTS_FILE))) {
            throw new IllegalArgumentException(dir + ": LoRA adapter without " + LoraAdapter.WEIGHTS_FILE);
        }
        LoraConfig config = LoraConfig.read(dir);
        Path found = baseDir;
        String from = "--base-dir";
        if (found == null && card != null && card.hasNonNull("base")) {
            found = Path.of(card.get("base").asText());
            from = dir.resolve(ModelFolder.CARD) + " 'base'";
        }
        if (found == null && config.baseModel() != null && Files.isDirectory(Path.of(config.baseModel()))) {
            found = Path.of(config.baseModel());
            from = dir.resolve(LoraConfig.FILE) + " 'base_model_name_or_path'";
        }
        if (found == null) {
            throw new IllegalArgumentException("--base-dir is required: " + dir + " is a LoRA adapter and names no "
                    + "base model folder (card.json 'base', or " + LoraConfig.FILE + " 'base_model_name_or_path')");
        }
        if (!Files.isRegularFile(found.resolve(ModelFolder.CONFIG))) {
            throw new IllegalArgumentException("the base of LoRA adapter " + dir + " (" + found + ", from " + from
                    + ") is not a model folder: no " + ModelFolder.CONFIG);
        }
        checkConfig(found);
        String sha = Checkpoint.weightsSha256(found);
        String recorded = LoraAdapter.recordedBaseSha256(dir);
        if (recorded == null && card != null && card.hasNonNull("base_sha256")) {
            recorded = card.get("base_sha256").asText();
        }
        if (recorded != null && !recorded.equals(sha)) {
            throw new IllegalArgumentException("LoRA adapter " + dir + " was trained on the base with weights sha256 "
                    + recorded + ", but " + found + " (from " + from + ") has " + sha);
        }
        return new AdapterBase(found, sha);
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
