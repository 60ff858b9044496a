package io.salsa.model.train;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.lm.DeviceOptions;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.ModelFolder;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.runtime.cli.SalsaCommand;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code salsa pretrain}: trains the tiny base model from scratch on the built-in task's corpus, so the demo
 * has a base that knows the world's facts before SFT teaches it to answer questions.
 */
@Command(name = "pretrain", mixinStandardHelpOptions = true, modelTransformer = TrainingOptions.Install.class,
        description = {"Train a small GPT-2 from scratch on a text corpus (default: the task folder written by",
                "'salsa task generate': pretrain.txt + tokenizer.json) and write it as a model folder."})
public final class PretrainCommand extends SalsaCommand {

    /** Corpus file name inside a task folder. */
    public static final String CORPUS = "pretrain.txt";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Option(names = "--task", paramLabel = "DIR", description = "Task folder with pretrain.txt and tokenizer.json.")
    Path task;

    @Option(names = "--corpus", paramLabel = "FILE", description = "Corpus, one document per line (default: <task>/pretrain.txt).")
    Path corpus;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json (default: <task>/tokenizer.json).")
    Path tokenizer;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output model folder (must not hold a model yet).")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "Initialisation and data-order seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--layers", defaultValue = "2", description = "n_layer (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--heads", defaultValue = "4", description = "n_head (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--width", defaultValue = "128", description = "n_embd (default: ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--positions", defaultValue = "128", description = "n_positions, the longest sequence (default: ${DEFAULT-VALUE}).")
    int positions;

    final TrainingOptions training = TrainingOptions.epochs(12, "Passes over the corpus")
            .lr("2e-3", "Peak learning rate")
            .batchSize(16, "Documents per step")
            .warmup("--warmup", "<warmup>", 30, "Warm-up steps")
            .maxSteps("Stop after this many steps; 0 = all epochs")
            .build();

    @Mixin
    DeviceOptions deviceOptions = new DeviceOptions();

    @Override
    public Integer call() {
        try {
            if (task == null && (corpus == null || tokenizer == null)) {
                throw new IllegalArgumentException("give --task DIR, or both --corpus FILE and --tokenizer FILE");
            }
            Path corpusFile = corpus != null ? corpus : task.resolve(CORPUS);
            Path tokFile = tokenizer != null ? tokenizer : task.resolve(ModelFolder.TOKENIZER);
            SftConfig cfg = training.sftConfig(seed, 1.0, 0.01);
            Device dev = deviceOptions.apply();
            SftTrainer.Result r = run(corpusFile, tokFile, out, layers, heads, width, positions, cfg, dev, System.err::println);
            System.out.printf(Locale.ROOT, "wrote %s: %d steps, final loss %.4f (held-out %.4f), %.0f tokens/s%n",
                    out, r.steps(), r.finalTrainLoss(), r.finalEvalLoss(), r.tokensPerSecond());
            return 0;
        } catch (IOException | IllegalArgumentException | IllegalStateException | java.io.UncheckedIOException e) {
            return refuse(e);
        }
    }

    /**
     * Trains a fresh model (GPT-2 initialisation from {@code cfg.seed()}) on every line of {@code corpusFile} as
     * one document followed by EOS, holding out every 20th document for the reported loss, and writes the
     * model folder with the tokenizer and a card.
     */
    public static SftTrainer.Result run(Path corpusFile, Path tokFile, Path out, int layers, int heads, int width,
                                        int positions, SftConfig cfg, Device device, Consumer<String> progress)
            throws IOException {
        if (Files.exists(out.resolve(ModelFolder.WEIGHTS))) {
            throw new IOException(out + " already holds a model; choose another --out");
        }
        if (!Files.isRegularFile(corpusFile)) {
            throw new NoSuchFileException(corpusFile + " (corpus: one document per line; 'salsa task generate' writes one)");
        }
        List<String> docs = Files.readAllLines(corpusFile, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).toList();
        if (docs.isEmpty()) {
            throw new IOException(corpusFile + ": no documents");
        }
        try (SalsaTokenizer tok = SalsaTokenizer.load(tokFile)) {
            GptConfig config = GptConfig.of(layers, heads, width, tok.vocabSize(), positions, tok.eosId(), tok.padId());
            List<SftData.Sequence> train = new ArrayList<>();
            List<SftData.Sequence> held = new ArrayList<>();
            for (int i = 0; i < docs.size(); i++) {
                int[] text = tok.encode(docs.get(i));
                int len = Math.min(positions, text.length + 1);
                if (len < 2) {
                    continue;
                }
                int[] ids = java.util.Arrays.copyOf(text, len);
                if (text.length < len) {
                    ids[len - 1] = tok.eosId();
                }
                (i % SftRun.HOLDOUT_EVERY == SftRun.HOLDOUT_EVERY - 1 ? held : train).add(new SftData.Sequence(ids, 1));
            }
            try (GptModel model = GptModel.random(config, GptModel.Head.NONE, cfg.seed(), device)) {
                progress.accept(String.format(Locale.ROOT,
                        "pretrain: %d layers × %d wide, %d heads, vocab %d, %,d parameters; %d docs (+%d held out), %d steps",
                        layers, width, heads, tok.vocabSize(), model.parameterCount(), train.size(), held.size(),
                        SftTrainer.plannedSteps(train.size(), cfg)));
                SftTrainer.Result r = SftTrainer.train(model, train, held, cfg, progress);
                model.save(out);
                tok.saveTo(out);
                ObjectNode card = JSON.createObjectNode();
                card.put("kind", "pretrain");
                card.put("corpus", corpusFile.toAbsolutePath().normalize().toString());
                card.put("corpus_sha256", SftData.sha256(corpusFile));
                card.put("seed", cfg.seed());
                card.put("steps", r.steps());
                card.put("epochs", cfg.epochs());
                card.put("lr", cfg.lr());
                card.put("batch_size", cfg.batchSize());
                card.put("documents", train.size());
                card.put("tokens", r.tokens());
                card.put("final_train_loss", r.finalTrainLoss());
                card.put("final_eval_loss", r.finalEvalLoss());
                card.put("train_seconds", Math.round(r.seconds() * 10) / 10.0);
                card.put("weights_sha256", SftData.sha256(out.resolve(ModelFolder.WEIGHTS)));
                JSON.writeValue(out.resolve(ModelFolder.CARD).toFile(), card);
                return r;
            }
        }
    }
}
