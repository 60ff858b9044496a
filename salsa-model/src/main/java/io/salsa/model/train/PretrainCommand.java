package io.salsa.model.train;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.DeviceOptions;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.ModelFolder;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.llama.LlamaModel;
import io.salsa.model.safetensors.Checkpoint;
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
        description = {"Train a small GPT-2 (or, with --arch llama, a small Llama-style model with grouped-query",
                "attention) from scratch on a text corpus (default: the task folder written by 'salsa task generate':",
                "pretrain.txt + tokenizer.json) and write it as a model folder."})
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

    @Option(names = "--arch", defaultValue = "gpt2", paramLabel = "gpt2|llama",
            description = "Architecture: gpt2, or llama (RMSNorm, RoPE, SwiGLU, grouped-query attention, tied "
                    + "embeddings) (default: ${DEFAULT-VALUE}).")
    String arch;

    @Option(names = "--layers", defaultValue = "2", description = "n_layer / num_hidden_layers (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--heads", defaultValue = "4", description = "n_head / num_attention_heads (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--kv-heads", defaultValue = "0", description = "llama: num_key_value_heads, dividing --heads "
            + "(default: half of --heads, so grouped-query attention is on).")
    int kvHeads;

    @Option(names = "--width", defaultValue = "128", description = "n_embd / hidden_size (default: ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--intermediate", defaultValue = "0", description = "llama: intermediate_size of the SwiGLU MLP "
            + "(default: 8/3 of --width rounded up to a multiple of 16, Llama's ratio; 352 for 128).")
    int intermediate;

    @Option(names = "--positions", defaultValue = "128", description = "n_positions / max_position_embeddings, the "
            + "longest sequence (default: ${DEFAULT-VALUE}).")
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
            Shape shape = new Shape(arch, layers, heads, kvHeads, width, intermediate, positions);
            SftTrainer.Result r = run(corpusFile, tokFile, out, shape, cfg, dev, System.err::println);
            System.out.printf(Locale.ROOT, "wrote %s: %d steps, final loss %.4f (held-out %.4f), %.0f tokens/s%n",
                    out, r.steps(), r.finalTrainLoss(), r.finalEvalLoss(), r.tokensPerSecond());
            return 0;
        } catch (IOException | IllegalArgumentException | IllegalStateException | java.io.UncheckedIOException e) {
            return refuse(e);
        }
    }

    /**
     * The architecture and size of a base trained from scratch.
     *
     * @param arch         {@code gpt2} or {@code llama}
     * @param layers       decoder layers
     * @param heads        attention heads
     * @param kvHeads      llama: key/value heads (0 = heads / 2, at least 1); gpt2: must be 0
     * @param width        hidden size
     * @param intermediate llama: MLP width (0 = 8/3 · width rounded up to a multiple of 16); gpt2: must be 0
     * @param positions    longest sequence
     */
    public record Shape(String arch, int layers, int heads, int kvHeads, int width, int intermediate, int positions) {

        /** The architectures {@code --arch} accepts. */
        public static final List<String> ARCHS = List.of("gpt2", "llama");

        public Shape {
            if (!ARCHS.contains(arch)) {
                throw new IllegalArgumentException("--arch \"" + arch + "\" is not supported (supported: "
                        + String.join(", ", ARCHS) + ")");
            }
            if (arch.equals("gpt2") && (kvHeads != 0 || intermediate != 0)) {
                throw new IllegalArgumentException("--kv-heads and --intermediate are for --arch llama (GPT-2 has "
                        + "one key/value head per head and a 4 × width MLP)");
            }
            if (kvHeads < 0 || intermediate < 0) {
                throw new IllegalArgumentException("--kv-heads and --intermediate must be >= 0 (0 = default), got "
                        + kvHeads + " and " + intermediate);
            }
        }

        /** GPT-2 of the given size. */
        public static Shape gpt2(int layers, int heads, int width, int positions) {
            return new Shape("gpt2", layers, heads, 0, width, 0, positions);
        }

        /** A Llama-style model with the default key/value heads and MLP width. */
        public static Shape llama(int layers, int heads, int width, int positions) {
            return new Shape("llama", layers, heads, 0, width, 0, positions);
        }

        /** Key/value heads after defaults. */
        public int effectiveKvHeads() {
            return kvHeads > 0 ? kvHeads : Math.max(1, heads / 2);
        }

        /** MLP width after defaults. */
        public int effectiveIntermediate() {
            return intermediate > 0 ? intermediate : (8 * width / 3 + 15) / 16 * 16;
        }

        /**
         * A randomly initialised model of this shape for a tokenizer's vocabulary and special ids; a Llama-style
         * config carries the tokenizer's pad id as {@code pad_token_id}, so a reward model made from it scores by
         * Hugging Face's rule in padded batches.
         */
        CausalLm random(SalsaTokenizer tok, long seed, Device device) {
            if (arch.equals("gpt2")) {
                GptConfig config = GptConfig.of(layers, heads, width, tok.vocabSize(), positions, tok.eosId(), tok.padId());
                return GptModel.random(config, GptModel.Head.NONE, seed, device);
            }
            LlamaConfig config = llamaConfig(tok.vocabSize(), tok.bosId().orElse(tok.eosId()), tok.eosId(), tok.padId());
            return LlamaModel.random(config, GptModel.Head.NONE, seed, device);
        }

        /**
         * The {@code llama} config of this shape (RoPE θ 10⁴, RMSNorm ε 10⁻⁵, SiLU, tied embeddings, float32) for a
         * vocabulary and its special ids ({@code padId} < 0: no {@code pad_token_id}).
         */
        public LlamaConfig llamaConfig(int vocabSize, int bosId, int eosId, int padId) {
            if (!arch.equals("llama")) {
                throw new IllegalStateException("a llama config of a " + arch + " shape");
            }
            ObjectNode c = JSON.createObjectNode();
            c.put("model_type", "llama");
            c.put("vocab_size", vocabSize);
            c.put("hidden_size", width);
            c.put("intermediate_size", effectiveIntermediate());
            c.put("num_hidden_layers", layers);
            c.put("num_attention_heads", heads);
            c.put("num_key_value_heads", effectiveKvHeads());
            if (heads > 0 && width % heads != 0) {
                throw new IllegalArgumentException("--width " + width + " must be a multiple of --heads " + heads);
            }
            c.put("max_position_embeddings", positions);
            c.put("rms_norm_eps", 1e-5);
            c.put("rope_theta", 10000.0);
            c.put("hidden_act", "silu");
            c.put("tie_word_embeddings", true);
            c.put("bos_token_id", bosId);
            c.put("eos_token_id", eosId);
            if (padId >= 0) {
                c.put("pad_token_id", padId);
            }
            c.put("torch_dtype", "float32");
            return LlamaConfig.fromJson(c);
        }
    }

    /** {@link #run(Path, Path, Path, Shape, SftConfig, Device, Consumer)} of a GPT-2. */
    public static SftTrainer.Result run(Path corpusFile, Path tokFile, Path out, int layers, int heads, int width,
                                        int positions, SftConfig cfg, Device device, Consumer<String> progress)
            throws IOException {
        return run(corpusFile, tokFile, out, Shape.gpt2(layers, heads, width, positions), cfg, device, progress);
    }

    /**
     * Trains a fresh model of {@code shape} (initialised from {@code cfg.seed()}) on every line of {@code corpusFile} as
     * one document followed by EOS, holding out every 20th document for the reported loss, and writes the
     * model folder with the tokenizer and a card.
     */
    public static SftTrainer.Result run(Path corpusFile, Path tokFile, Path out, Shape shape, SftConfig cfg,
                                        Device device, Consumer<String> progress) throws IOException {
        int positions = shape.positions();
        if (Checkpoint.present(out)) {
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
            try (CausalLm model = shape.random(tok, cfg.seed(), device)) {
                progress.accept(String.format(Locale.ROOT,
                        "pretrain: %s%d layers × %d wide, %d heads%s, vocab %d, %,d parameters; %d docs (+%d held out), %d steps",
                        shape.arch().equals("gpt2") ? "" : shape.arch() + ", ", shape.layers(), shape.width(),
                        shape.heads(), shape.arch().equals("gpt2") ? "" : " (" + shape.effectiveKvHeads() + " kv), MLP "
                                + shape.effectiveIntermediate(), tok.vocabSize(), model.parameterCount(), train.size(),
                        held.size(), SftTrainer.plannedSteps(train.size(), cfg)));
                SftTrainer.Result r = SftTrainer.train(model, train, held, cfg, progress);
                model.save(out);
                tok.saveTo(out);
                ObjectNode card = JSON.createObjectNode();
                card.put("kind", "pretrain");
                card.put("model_type", model.modelType());
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
                card.put("weights_sha256", SftData.weightsSha256(out));
                JSON.writeValue(out.resolve(ModelFolder.CARD).toFile(), card);
                return r;
            }
        }
    }
}
