package io.salsa.scorer.rm;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.events.BlobRef;
import io.salsa.events.RewardModelCheckpoint;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.DeviceOptions;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.ModelFolder;
import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.lm.lora.LoraSpec;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.model.train.TrainingOptions;
import io.salsa.runtime.blob.BlobStore;
import io.salsa.runtime.blob.BlobStores;
import io.salsa.runtime.blob.Sha256;
import io.salsa.runtime.cli.SalsaCommand;
import io.salsa.runtime.cli.ServiceOptions;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code salsa rm train}: a Bradley–Terry reward model from preferences, optionally published to the scorers. */
@Command(name = "train", mixinStandardHelpOptions = true, modelTransformer = TrainingOptions.Install.class,
        description = "Train a reward model (the backbone of any supported model folder: GPT-2, Llama, Mistral, Qwen2, "
                + "Gemma; + a scalar score head, initialised from an SFT model) on "
                + "preference pairs with the Bradley-Terry loss (ties: target 0.5); report held-out pairwise "
                + "accuracy; write the model folder; with --publish upload it to the blob store and publish a "
                + "RewardModelCheckpoint on the reward-models topic.")
public final class RmTrainCommand extends SalsaCommand {

    public RmTrainCommand() {
        super("rm", "Reward models: train from preferences.");
    }

    static final class Source {
        @Option(names = "--data", description = "JSONL of {\"prompt\", \"chosen\", \"rejected\"[, \"tie\"]} lines "
                + "(e.g. preferences.jsonl of `salsa task generate`).")
        Path data;
        @Option(names = "--from-topic", description = "Read Preference events from the feedback topic (to its current end).")
        boolean fromTopic;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--init", required = true, description = "SFT model folder to start from (config.json, "
            + "model.safetensors or a sharded index, tokenizer.json); the saved reward model loads in transformers as "
            + "*ForSequenceClassification.")
    Path init;
    @Option(names = "--out", required = true, description = "Folder to write the reward model to (must not exist or be empty).")
    Path out;
    @Option(names = "--seed", defaultValue = "0", description = "Data order and held-out split (default: ${DEFAULT-VALUE}).")
    long seed;
    final TrainingOptions training = TrainingOptions.epochs(2, null)
            .lr("1e-4", "Peak learning rate")
            .batchSize(16, "Pairs per step")
            .warmup("--warmup-steps", "<warmupSteps>", 10, null)
            .maxSteps("Stop after N steps, 0 = no limit")
            .maxGradNorm("1.0", null)
            .weightDecay("0.0", null)
            .build();
    @Option(names = "--lora", paramLabel = "SPEC", description = "Train a LoRA adapter on the backbone (frozen) plus "
            + "the score head instead of the whole model: r=N,alpha=A,targets=M1,M2[,dropout=P][,rslora] (targets as "
            + "PEFT names them: q_proj,v_proj,… for Llama; c_attn,c_proj,c_fc for GPT-2). The adapter is merged before "
            + "saving: --out is a full reward model folder that the scorer loads unchanged.")
    String lora;
    @Option(names = "--held-out", defaultValue = "0.2", description = "Share of prompts held out (default: ${DEFAULT-VALUE}).")
    double heldOut;
    @Mixin
    DeviceOptions deviceOptions = new DeviceOptions();

    @Option(names = "--publish", description = "Upload to the blob store and publish a RewardModelCheckpoint.")
    boolean publish;
    @Option(names = "--name", defaultValue = "default", description = "Reward model name = key on the "
            + "reward-models topic (default: ${DEFAULT-VALUE}).")
    String name;
    @Option(names = "--version", description = "Version to publish (default: one above the latest published under --name).")
    Long version;
    // --version is the version to publish, which makes picocli drop its standard --help/--version pair: --help by hand
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
    boolean help;
    /** Kafka for --from-topic and --publish; the blob store (no default) for --publish. */
    @Mixin
    ServiceOptions service = new ServiceOptions();

    @Override
    public Integer call() throws Exception {
        RmTrainConfig cfg;
        LoraConfig loraConfig;
        Device dev;
        KafkaSettings kafka = null;
        String storeUri = null;
        try {
            cfg = new RmTrainConfig(training.epochs(), training.lr(), training.batchSize(), training.warmup(),
                    training.maxSteps(), training.maxGradNorm(1.0), training.weightDecay(0.0), heldOut, seed);
            loraConfig = lora == null ? null : LoraSpec.parse(lora);
            dev = deviceOptions.apply();
            if (!Files.isRegularFile(init.resolve(ModelFolder.CONFIG))) {
                throw new IllegalArgumentException("--init " + init + " is not a model folder (no config.json)");
            }
            if (!Files.isRegularFile(init.resolve(SalsaTokenizer.TOKENIZER_JSON))) {
                throw new IllegalArgumentException("--init " + init + " has no tokenizer.json: the preference texts "
                        + "cannot be tokenized as the model was trained");
            }
            if (Files.exists(out) && !isEmptyDir(out)) {
                throw new IllegalArgumentException("--out " + out + " already exists and is not empty");
            }
            if (source.fromTopic || publish) {
                kafka = service.kafka(System.getenv());
            }
            if (publish) {
                storeUri = service.blobStoreUri(System.getenv());
                if (storeUri == null) {
                    throw new IllegalArgumentException("--publish needs a blob store: --blob-store URI or $SALSA_BLOB_STORE");
                }
                if (version != null && version < 1) {
                    throw new IllegalArgumentException("--version must be >= 1 (0 is a scorer's local initial model)");
                }
            }
        } catch (IllegalArgumentException e) {
            return refuse(e.getMessage());
        }

        List<PreferencePair> pairs;
        String dataDescription;
        String dataSha = null;
        try (SalsaTokenizer tokenizer = SalsaTokenizer.load(init)) {
            if (source.data != null) {
                pairs = PreferenceData.readJsonl(source.data, tokenizer);
                dataDescription = source.data.toString();
                dataSha = Sha256.of(source.data);
            } else {
                PreferenceData.Loaded loaded = PreferenceData.readTopic(kafka, tokenizer, Duration.ofMinutes(2));
                pairs = loaded.pairs();
                dataDescription = "topic " + kafka.topic(Topics.FEEDBACK);
                System.out.printf("read %d pairs from %s (%d records skipped: ratings or undecodable)%n",
                        pairs.size(), dataDescription, loaded.skipped());
                if (pairs.isEmpty()) {
                    throw new IllegalArgumentException(dataDescription + " holds no pairwise preferences");
                }
            }
        } catch (IllegalArgumentException | IOException e) {
            return refuse(e.getMessage());
        }

        RewardModelTrainer.Split split = RewardModelTrainer.split(pairs, cfg.heldOutFraction(), cfg.seed());
        long ties = pairs.stream().filter(PreferencePair::tie).count();
        System.out.printf("%d pairs (%d ties): %d train, %d held out (prompts held out: %.0f%%)%n", pairs.size(), ties,
                split.train().size(), split.heldOut().size(), 100 * cfg.heldOutFraction());
        RewardModelTrainer.Result result;
        CausalLm loaded;
        try {
            loaded = CausalLms.load(init, GptModel.Head.SCORE, dev);
        } catch (IOException | IllegalArgumentException e) {
            return refuse("--init " + e.getMessage());
        }
        try (CausalLm model = loaded) {
            try {
                result = loraConfig == null ? RewardModelTrainer.train(model, split, cfg, System.out::println)
                        : RewardModelTrainer.trainLora(model, loraConfig, split, cfg, System.out::println);
            } catch (IllegalArgumentException e) {
                return refuse(e.getMessage());
            }
            Files.createDirectories(out);
            model.save(out);
            ModelFolder.copyTokenizer(init, out);
            writeCard(result, cfg, loraConfig, dataDescription, dataSha);
        }
        System.out.printf(Locale.ROOT, "reward model written to %s: held-out pairwise accuracy %.3f over %d strict "
                        + "pairs (before training %.3f), %d steps (%d skipped as non-finite) in %.1f s%n", out,
                result.after().accuracy(), result.after().strictPairs(), result.before().accuracy(), result.steps(),
                result.skipped(), result.seconds());
        if (publish) {
            try {
                publish(kafka, storeUri, result);
            } catch (Exception e) {
                System.err.println("salsa rm train: publishing failed (the model is written to " + out + "): " + e);
                return 1;
            }
        }
        return 0;
    }

    private void publish(KafkaSettings kafka, String storeUri, RewardModelTrainer.Result result) throws Exception {
        TopicAdmin.ensureTopics(kafka, List.of(Topics.REWARD_MODELS));
        long v = version != null ? version
                : RewardModelCatalog.latestVersion(kafka, name, Duration.ofMinutes(1)).orElse(0) + 1;
        RewardModelCheckpoint cp = RewardModelCatalog.uploadAndPublish(kafka, BlobStores.fromUri(storeUri), out, name,
                v, init.toAbsolutePath().toString(), result, seed);
        System.out.printf("published reward model %s v%d (%s, sha256 %s) to %s%n", name, v, cp.getBlob().getUri(),
                cp.getBlob().getSha256(), kafka.topic(Topics.REWARD_MODELS));
    }

    private void writeCard(RewardModelTrainer.Result r, RmTrainConfig cfg, LoraConfig loraConfig, String data,
                           String dataSha) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode card = json.createObjectNode();
        card.put("trainer", "salsa rm train");
        card.put("objective", "bradley-terry: -log sigmoid(r_chosen - r_rejected); ties: BCE with target 0.5");
        card.put("init", init.toAbsolutePath().toString());
        card.put("data", data);
        if (dataSha != null) {
            card.put("dataSha256", dataSha);
        }
        card.put("seed", cfg.seed());
        card.put("steps", r.steps());
        card.put("skippedNonFiniteSteps", r.skipped());
        card.put("trainPairs", r.trainPairs());
        card.put("heldOutPairs", r.after().pairs());
        card.put("heldOutStrictPairs", r.after().strictPairs());
        card.put("heldOutAccuracy", r.after().accuracy());
        card.put("heldOutAccuracyBeforeTraining", r.before().accuracy());
        card.put("heldOutLoss", r.after().loss());
        card.put("finalTrainLoss", r.finalLoss());
        ObjectNode hp = card.putObject("hyperParameters");
        hp.put("epochs", cfg.epochs());
        hp.put("lr", cfg.lr());
        hp.put("batchSize", cfg.batchSize());
        hp.put("warmupSteps", cfg.warmupSteps());
        hp.put("maxSteps", cfg.maxSteps());
        hp.put("maxGradNorm", cfg.maxGradNorm());
        hp.put("weightDecay", cfg.weightDecay());
        hp.put("heldOutFraction", cfg.heldOutFraction());
        if (loraConfig != null) {
            ObjectNode l = card.putObject("lora");
            loraConfig.describe(l);
            l.put("saved_as", "merged: backbone + (alpha/r)·B·A, trained score head");
        }
        json.writerWithDefaultPrettyPrinter().writeValue(out.resolve(ModelFolder.CARD).toFile(), card);
    }

    private static boolean isEmptyDir(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }
}
