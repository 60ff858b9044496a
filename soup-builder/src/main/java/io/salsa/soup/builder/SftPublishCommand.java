package io.salsa.soup.builder;

import io.salsa.events.BlobRef;
import io.salsa.events.SftModelLanded;
import io.salsa.runtime.cli.SalsaCommand;
import io.salsa.runtime.cli.ServiceOptions;
import io.salsa.schemas.KafkaSettings;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code salsa sft publish DIR}: uploads an SFT model folder (or a LoRA adapter folder and its base) to the blob store
 * and announces it on sft-models.
 */
@Command(name = "publish", mixinStandardHelpOptions = true,
        description = "Upload an SFT model folder, or a LoRA adapter folder and its base, to the blob store and "
                + "publish SftModelLanded.")
public final class SftPublishCommand extends SalsaCommand {

    public SftPublishCommand() {
        super("sft", "Supervised fine-tuning: train and publish SFT models.");
    }

    @Parameters(index = "0", paramLabel = "DIR", description = "Model folder (config.json + model.safetensors), or "
            + "LoRA adapter folder (adapter_config.json + adapter_model.safetensors, from `salsa sft train --lora`).")
    Path dir;

    @Option(names = "--model-id", description = "Model id (default: the folder name).")
    String modelId;

    @Option(names = "--base", description = "Base model id shared by the members of a soup (default: "
            + "sha256:<card.json base_weights_sha256>, else card.json 'base'; required without a card).")
    String base;

    @Option(names = "--base-dir", description = "LoRA adapters only: the base model folder the adapter was trained on "
            + "(default: card.json 'base', else adapter_config.json 'base_model_name_or_path'); uploaded too, and its "
            + "weights sha256 must be the one the adapter records.")
    Path baseDir;

    @Option(names = "--seed", description = "Training seed (default: card.json 'seed', else 0).")
    Long seed;

    @Mixin
    ServiceOptions service = new ServiceOptions();

    @Override
    public Integer call() throws Exception {
        try {
            KafkaSettings kafka = service.kafka(System.getenv());
            SftModelLanded landed = SftPublisher.publish(kafka, service.store(System.getenv()), dir, modelId, base,
                    baseDir, seed);
            BlobRef blob = landed.getBlob();
            String id = landed.getModelId();
            String baseModel = landed.getBaseModel();
            System.out.printf("published SFT model %s (base %s)%n  blob %s%n  sha256 %s%n", id, baseModel,
                    blob.getUri(), blob.getSha256());
            if (landed.getBase() != null) {
                System.out.printf("  LoRA adapter of base weights sha256 %s%n  base blob %s%n",
                        landed.getBaseWeightsSha256(), landed.getBase().getUri());
            }
            return 0;
        } catch (IllegalArgumentException | java.nio.file.NoSuchFileException e) {
            return refuse(e.getMessage());
        }
    }
}
