package io.salsa.soup.builder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.core.cli.SalsaSubcommand;
import io.salsa.core.model.GptConfig;
import io.salsa.core.model.ModelFolder;
import io.salsa.events.BlobRef;
import io.salsa.events.SftModelLanded;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code salsa sft publish DIR}: uploads an SFT model folder to the blob store and announces it on sft-models. */
@Command(name = "publish", mixinStandardHelpOptions = true,
        description = "Upload an SFT model folder to the blob store and publish SftModelLanded.")
public final class SftPublishCommand implements Callable<Integer>, SalsaSubcommand {

    @Parameters(index = "0", paramLabel = "DIR", description = "Model folder (config.json + model.safetensors).")
    Path dir;

    @Option(names = "--model-id", description = "Model id (default: the folder name).")
    String modelId;

    @Option(names = "--base", description = "Base model id shared by the members of a soup (default: "
            + "sha256:<card.json base_weights_sha256>, else card.json 'base'; required without a card).")
    String base;

    @Option(names = "--seed", description = "Training seed (default: card.json 'seed', else 0).")
    Long seed;

    @Mixin
    ServiceOptions service;

    @Override
    public String group() {
        return "sft";
    }

    @Override
    public String groupDescription() {
        return "Supervised fine-tuning: train and publish SFT models.";
    }

    @Override
    public Integer call() throws Exception {
        try {
            if (!Files.isDirectory(dir)) {
                throw new IllegalArgumentException(dir + ": not a folder (expected a model folder with "
                        + ModelFolder.CONFIG + " and " + ModelFolder.WEIGHTS + ")");
            }
            if (!Files.isRegularFile(dir.resolve(ModelFolder.WEIGHTS))) {
                throw new IllegalArgumentException(dir + ": no " + ModelFolder.WEIGHTS);
            }
            GptConfig.load(dir);
            JsonNode card = Files.isRegularFile(dir.resolve(ModelFolder.CARD))
                    ? new ObjectMapper().readTree(dir.resolve(ModelFolder.CARD).toFile()) : null;
            String id = modelId != null ? modelId : dir.toAbsolutePath().normalize().getFileName().toString();
            // the base's weights digest identifies it on any machine; the path is a fallback
            String baseModel = base;
            if (baseModel == null && card != null) {
                baseModel = card.hasNonNull("base_weights_sha256") ? "sha256:" + card.get("base_weights_sha256").asText()
                        : card.hasNonNull("base") ? card.get("base").asText() : null;
            }
            if (baseModel == null) {
                throw new IllegalArgumentException("--base is required: " + dir + " has no card.json with a 'base'");
            }
            KafkaSettings kafka = service.kafka(System.getenv());
            ModelFolderStore store = service.store(System.getenv());
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
                p.send(new ProducerRecord<>(topic, id, kafka.valueSerde(Topics.SFT_MODELS).serialize(topic, landed)))
                        .get();
            }
            System.out.printf("published SFT model %s (base %s)%n  blob %s%n  sha256 %s%n", id, baseModel,
                    blob.getUri(), blob.getSha256());
            return 0;
        } catch (IllegalArgumentException | java.nio.file.NoSuchFileException e) {
            System.err.println("salsa sft publish: " + e.getMessage());
            return 2;
        }
    }
}
