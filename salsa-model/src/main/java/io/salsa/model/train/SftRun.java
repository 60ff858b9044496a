package io.salsa.model.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.lm.Adaptable;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.ModelFolder;
import io.salsa.model.lm.lora.LoraAdapter;
import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.safetensors.Checkpoint;
import io.salsa.model.soup.LoraSoups;
import io.salsa.model.tokenizer.ChatTemplate;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.runtime.blob.Sha256;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * One complete SFT job from files to a model folder: base model + tokenizer + JSONL in, fine-tuned
 * {@code model.safetensors}, {@code config.json}, {@code tokenizer.json} and {@code card.json} out. The CLI
 * command and the tests (and the soup tests) all go through here.
 */
public final class SftRun {

    /** Without an eval file, this share of the data (by a fixed seed, the same for every --seed) is held out. */
    public static final int HOLDOUT_EVERY = 20;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private SftRun() {
    }

    /**
     * What to train.
     *
     * @param data      training JSONL
     * @param evalData  eval JSONL, or null to hold out 1/{@value #HOLDOUT_EVERY} of {@code data} (fixed split)
     * @param base      base model folder (config.json + model.safetensors [+ tokenizer.json])
     * @param tokenizer tokenizer.json or folder, or null for the base folder's
     * @param out       output folder
     * @param config    hyper-parameters and seed
     * @param device    where to train
     * @param lora      train a LoRA adapter with these settings (base frozen) and write only the adapter; null = full
     *                  fine-tuning
     */
    public record Request(Path data, Path evalData, Path base, Path tokenizer, Path out, SftConfig config, Device device,
                          LoraConfig lora) {

        /** Full fine-tuning. */
        public Request(Path data, Path evalData, Path base, Path tokenizer, Path out, SftConfig config, Device device) {
            this(data, evalData, base, tokenizer, out, config, device, null);
        }
    }

    /** Runs the job; errors name the offending file (and line, for data). */
    public static SftTrainer.Result run(Request req, Consumer<String> progress) throws IOException {
        if (Checkpoint.present(req.out())) {
            throw new IOException(req.out() + " already holds a model; choose another --out");
        }
        if (Files.exists(req.out().resolve(LoraConfig.FILE))) {
            throw new IOException(req.out() + " already holds a LoRA adapter; choose another --out");
        }
        List<SftExample> data = SftData.read(req.data());
        List<SftExample> eval;
        List<SftExample> train;
        String evalSource;
        if (req.evalData() != null) {
            eval = SftData.read(req.evalData());
            train = data;
            evalSource = req.evalData().toString();
        } else if (data.size() >= 2 * HOLDOUT_EVERY) {
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < data.size(); i++) {
                idx.add(i);
            }
            Collections.shuffle(idx, new Random(0));
            java.util.Set<Integer> held = new java.util.HashSet<>(idx.subList(0, data.size() / HOLDOUT_EVERY));
            eval = new ArrayList<>();
            train = new ArrayList<>();
            for (int i = 0; i < data.size(); i++) {
                (held.contains(i) ? eval : train).add(data.get(i));
            }
            evalSource = "held out 1/" + HOLDOUT_EVERY + " of " + req.data() + " (fixed split)";
        } else {
            eval = data;
            train = data;
            evalSource = "the training data (fewer than " + 2 * HOLDOUT_EVERY + " examples)";
        }
        Path tokPath = req.tokenizer() != null ? req.tokenizer() : req.base();
        if (req.tokenizer() == null && !Files.isRegularFile(req.base().resolve(ModelFolder.TOKENIZER))) {
            throw new NoSuchFileException(req.base().resolve(ModelFolder.TOKENIZER)
                    + " (the base model folder has no tokenizer; pass --tokenizer FILE)");
        }
        try (SalsaTokenizer tok = SalsaTokenizer.load(tokPath);
             CausalLm model = CausalLms.load(req.base(), GptModel.Head.NONE, req.device())) {
            if (tok.vocabSize() > model.vocabSize()) {
                throw new IOException(tok.source() + ": tokenizer has " + tok.vocabSize() + " ids but the model in "
                        + req.base() + " only " + model.vocabSize());
            }
            int maxLen = model.maxPositions();
            ChatTemplate template = null;
            if (data.stream().anyMatch(e -> !e.messages().isEmpty())) {
                Path dir = Files.isDirectory(tokPath) ? tokPath : tokPath.toAbsolutePath().getParent();
                template = ChatTemplate.load(dir).orElseThrow(() -> new IOException(req.data()
                        + " holds conversations (\"messages\") but " + dir + " has no chat template"
                        + " (chat_template.jinja or tokenizer_config.json's chat_template)"));
            }
            List<SftData.Sequence> trainSeq = SftData.encodeAll(tok, template, train, maxLen);
            List<SftData.Sequence> evalSeq = SftData.encodeAll(tok, template, eval, maxLen);
            if (trainSeq.size() < train.size()) {
                progress.accept((train.size() - trainSeq.size()) + " examples skipped: prompt longer than the model's context of " + maxLen);
            }
            progress.accept(String.format(java.util.Locale.ROOT,
                    "SFT: %d train / %d eval sequences, %d steps, base %s (%s, %,d parameters), seed %d",
                    trainSeq.size(), evalSeq.size(), SftTrainer.plannedSteps(trainSeq.size(), req.config()), req.base(),
                    model.modelType(), model.parameterCount(), req.config().seed()));
            if (req.lora() != null) {
                return trainAdapter(req, model, tok, trainSeq, evalSeq, evalSource, progress);
            }
            SftTrainer.Result result = SftTrainer.train(model, trainSeq, evalSeq, req.config(), progress);
            model.save(req.out());
            tok.saveTo(req.out());
            writeCard(req, result, evalSource, trainSeq.size(), evalSeq.size(), null);
            return result;
        }
    }

    /**
     * LoRA SFT: an adapter from {@code --seed} on the frozen base, only A and B trained (dropout on while training,
     * off for the eval loss), written as a PEFT adapter folder naming its base (path and sha256) + the tokenizer +
     * card.json. With dropout the engine's random seed is set from {@code --seed} so dropout masks repeat too.
     */
    private static SftTrainer.Result trainAdapter(Request req, CausalLm model, SalsaTokenizer tok,
            List<SftData.Sequence> trainSeq, List<SftData.Sequence> evalSeq, String evalSource, Consumer<String> progress)
            throws IOException {
        if (!(model instanceof Adaptable adaptable)) {
            throw new IllegalArgumentException("--lora: a " + model.modelType() + " model cannot take LoRA adapters");
        }
        LoraConfig config = req.lora().withBaseModel(req.base().toAbsolutePath().normalize().toString());
        LoraAdapter created;
        try {
            created = LoraAdapter.create(adaptable, config, req.config().seed());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--lora: " + e.getMessage(), e);
        }
        try (LoraAdapter adapter = created) {
            adapter.setBaseSha256(LoraSoups.baseSha256(req.base()));
            progress.accept(String.format(java.util.Locale.ROOT, "LoRA r=%d alpha=%s on %s: %,d trainable parameters "
                    + "(%d weights adapted), base frozen", config.r(), config.alpha(), config.targetModules(),
                    adapter.parameterCount(), adapter.adaptedWeights().size()));
            if (config.dropout() > 0) {
                Engine.getInstance().setRandomSeed((int) req.config().seed());
            }
            adapter.setTraining(true);
            SftTrainer.Result trained;
            try {
                trained = SftTrainer.train(model, adapter.parameters(), trainSeq, List.of(), req.config(), progress);
            } finally {
                adapter.setTraining(false);
            }
            double evalLoss = evalSeq.isEmpty() ? Double.NaN
                    : SftTrainer.evalLoss(model, evalSeq, req.config().batchSize());
            SftTrainer.Result result = new SftTrainer.Result(trained.steps(), trained.tokens(), trained.finalTrainLoss(),
                    evalLoss, trained.seconds(), trained.skipped());
            adapter.save(req.out());
            tok.saveTo(req.out());
            writeCard(req, result, evalSource, trainSeq.size(), evalSeq.size(), adapter);
            return result;
        }
    }

    private static void writeCard(Request req, SftTrainer.Result r, String evalSource, int trainN, int evalN,
                                  LoraAdapter adapter) throws IOException {
        SftConfig c = req.config();
        ObjectNode card = JSON.createObjectNode();
        card.put("kind", adapter == null ? "sft" : "sft-lora");
        card.put("base", req.base().toAbsolutePath().normalize().toString());
        card.put("base_weights_sha256", SftData.weightsSha256(req.base()));
        card.put("data", req.data().toAbsolutePath().normalize().toString());
        card.put("data_sha256", SftData.sha256(req.data()));
        card.put("eval_data", evalSource);
        card.put("seed", c.seed());
        card.put("steps", r.steps());
        card.put("skipped_non_finite_steps", r.skipped());
        card.put("epochs", c.epochs());
        card.put("lr", c.lr());
        card.put("batch_size", c.batchSize());
        card.put("warmup_steps", c.warmupSteps());
        card.put("max_steps", c.maxSteps());
        card.put("max_grad_norm", c.maxGradNorm());
        card.put("weight_decay", c.weightDecay());
        card.put("train_sequences", trainN);
        card.put("eval_sequences", evalN);
        card.put("tokens", r.tokens());
        card.put("final_train_loss", r.finalTrainLoss());
        card.put("final_eval_loss", r.finalEvalLoss());
        card.put("train_seconds", Math.round(r.seconds() * 10) / 10.0);
        if (adapter == null) {
            card.put("weights_sha256", SftData.weightsSha256(req.out()));
        } else {
            ObjectNode lora = card.putObject("lora");
            adapter.config().describe(lora);
            lora.put("trainable_parameters", adapter.parameterCount());
            card.put("base_sha256", adapter.baseSha256());
            card.put("adapter_sha256", Sha256.of(req.out().resolve(LoraAdapter.WEIGHTS_FILE)));
        }
        JSON.writeValue(req.out().resolve(ModelFolder.CARD).toFile(), card);
    }
}
