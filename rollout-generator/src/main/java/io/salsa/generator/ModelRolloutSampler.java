package io.salsa.generator;

import ai.djl.Device;
import io.salsa.model.generate.Generation;
import io.salsa.model.generate.Generator;
import io.salsa.model.generate.SamplingConfig;
import io.salsa.model.lm.Adaptable;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.Precision;
import io.salsa.model.lm.ModelFolder;
import io.salsa.model.lm.lora.LoraAdapter;
import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.soup.LoraSoups;
import io.salsa.model.tokenizer.ChatMessage;
import io.salsa.model.tokenizer.ChatTemplate;
import io.salsa.model.tokenizer.SalsaTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The shipped {@link RolloutSampler}: any model folder the model core loads (GPT-2 or the Llama family, chosen from
 * {@code config.json}) and its batched, KV-cached generator, with one sampler seed per sequence so a row's tokens do
 * not depend on its batch-mates; generation stops on every EOS id the folder lists.
 *
 * <p>Behaviour log-probs are the log-probs of the sampled tokens under the distribution the sampler actually drew
 * from: logits divided by the temperature, cut to top-k/top-p and renormalised ({@link Generation#samplingLogProbs()}).
 * The rollout carries those settings, and the learner recomputes the same quantity for its current weights
 * ({@code SampledLogprobs}), so on-policy the importance weights are 1 whatever the settings.
 */
public final class ModelRolloutSampler implements RolloutSampler {

    private final CausalLm model;
    /** The shared base + adapter of a LoRA checkpoint, null for a full model folder. */
    private final LoraHost host;
    /** This checkpoint's A and B, put into the host's adapter before this sampler's first batch. */
    private final LoraAdapter.Weights adapterWeights;
    private final Generator generator;
    private final SalsaTokenizer tokenizer;
    private final ChatTemplate chatTemplate;

    private ModelRolloutSampler(CausalLm model, LoraHost host, LoraAdapter.Weights adapterWeights,
            SalsaTokenizer tokenizer, ChatTemplate chatTemplate) {
        this.model = model;
        this.host = host;
        this.adapterWeights = adapterWeights;
        this.generator = new Generator(model);
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
    }

    /** {@link #factory(Precision)} in float32. */
    public static SamplerFactory factory() {
        return factory(Precision.FP32);
    }

    /**
     * The factory the service uses: loads the language model (any value/score head is ignored) and its tokenizer,
     * and generates in {@code precision} (fp16 autocast: fp16 matmuls, float32 norms, softmax and log-probs). The
     * model is frozen ({@link CausalLms#loadFrozen}): at fp16 it holds its weights in float16.
     */
    public static SamplerFactory factory(Precision precision) {
        return new SamplerFactory() {
            /** The base of the newest adapter checkpoint, kept while a sampler uses it. */
            private LoraHost last;

            @Override
            public RolloutSampler open(Path modelDir, GeneratorConfig.Device device) throws IOException {
                return ModelRolloutSampler.open(modelDir, device, precision);
            }

            @Override
            public synchronized RolloutSampler openAdapter(Path baseDir, Path adapterDir,
                    GeneratorConfig.Device device) throws IOException {
                LoraHost h = last;
                if (h != null && h.baseDir.equals(baseDir) && h.adapter.config().equals(
                        LoraConfig.read(adapterDir).withFanInFanOut(h.adapter.config().fanInFanOut())
                                .withBaseModel(h.adapter.config().baseModel()))
                        && h.retainIfOpen()) {
                    // the base is loaded already: read A and B only; they replace the old ones between batches
                    try {
                        return withTokenizer(h.model, h, h.adapter.readWeights(adapterDir, h.baseSha256), adapterDir);
                    } catch (IOException | RuntimeException e) {
                        h.release();
                        throw e;
                    }
                }
                ModelRolloutSampler opened = ModelRolloutSampler.openAdapter(baseDir, adapterDir, device, precision);
                last = opened.host;
                return opened;
            }
        };
    }

    /**
     * Loads {@code dir} (config.json, model.safetensors or a sharded index, optional tokenizer.json with its chat
     * template and generation_config.json) on {@code device}.
     */
    public static ModelRolloutSampler open(Path dir, GeneratorConfig.Device device) throws IOException {
        return open(dir, device, Precision.FP32);
    }

    /** {@link #open(Path, GeneratorConfig.Device)} generating in {@code precision}. */
    public static ModelRolloutSampler open(Path dir, GeneratorConfig.Device device, Precision precision)
            throws IOException {
        Device djl = device == GeneratorConfig.Device.GPU ? Device.gpu() : Device.cpu();
        // nothing trains this copy: at fp16 it holds float16 weights (half the memory, no cast per forward)
        CausalLm model = CausalLms.loadFrozen(dir, GptModel.Head.NONE, djl, precision);
        try {
            return withTokenizer(model, null, null, dir);
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * Loads the base {@code baseDir} and applies the LoRA adapter in {@code adapterDir} (a learner's adapter-only
     * checkpoint: {@code adapter_config.json}, {@code adapter_model.safetensors}, the run's tokenizer). Refused,
     * naming both sha256: an adapter whose recorded base ({@code salsa_base_sha256}) is not {@code baseDir}'s, or
     * that records none.
     */
    public static ModelRolloutSampler openAdapter(Path baseDir, Path adapterDir, GeneratorConfig.Device device)
            throws IOException {
        return openAdapter(baseDir, adapterDir, device, Precision.FP32);
    }

    /** {@link #openAdapter(Path, Path, GeneratorConfig.Device)} generating in {@code precision}. */
    public static ModelRolloutSampler openAdapter(Path baseDir, Path adapterDir, GeneratorConfig.Device device,
            Precision precision) throws IOException {
        Device djl = device == GeneratorConfig.Device.GPU ? Device.gpu() : Device.cpu();
        String baseSha = LoraSoups.baseSha256(baseDir);
        // a frozen base (float16 weights at fp16); the adapter's A and B stay float32
        CausalLm model = CausalLms.loadFrozen(baseDir, GptModel.Head.NONE, djl, precision);
        LoraAdapter adapter = null;
        try {
            if (!(model instanceof Adaptable adaptable)) {
                throw new IOException(baseDir + " is a " + model.modelType() + " model, which takes no LoRA adapter");
            }
            adapter = LoraAdapter.load(adaptable, adapterDir);
            if (!baseSha.equals(adapter.baseSha256())) {
                throw new IOException(adapterDir.resolve(LoraAdapter.WEIGHTS_FILE) + ": the adapter applies to the base "
                        + "with sha256 " + (adapter.baseSha256() == null ? "(not recorded)" : adapter.baseSha256())
                        + ", not to " + baseDir + " (sha256 " + baseSha + ")");
            }
            LoraAdapter.Weights weights = adapter.readWeights(adapterDir, baseSha);
            return withTokenizer(model, new LoraHost(baseDir, baseSha, model, adapter), weights, adapterDir);
        } catch (IOException | RuntimeException e) {
            if (adapter != null) {
                adapter.close();
            }
            model.close();
            throw e;
        }
    }

    /**
     * A base model and its attached adapter, shared by the samplers of the adapter checkpoints on that base: each
     * holds its own A and B and puts them into the adapter before its first batch, on the generation thread (between
     * batches). The base is closed with its last sampler.
     */
    private static final class LoraHost {
        final Path baseDir;
        final String baseSha256;
        final CausalLm model;
        final LoraAdapter adapter;
        private int users = 1;
        /** The sampler whose A and B the adapter holds; read and written on the generation thread. */
        volatile ModelRolloutSampler loaded;

        LoraHost(Path baseDir, String baseSha256, CausalLm model, LoraAdapter adapter) {
            this.baseDir = baseDir;
            this.baseSha256 = baseSha256;
            this.model = model;
            this.adapter = adapter;
        }

        synchronized boolean retainIfOpen() {
            if (users == 0) {
                return false;
            }
            users++;
            return true;
        }

        synchronized void release() {
            if (--users == 0) {
                adapter.close();
                model.close();
            }
        }
    }

    /** The precision this sampler generates in. */
    Precision precision() {
        return model.precision();
    }

    /** The dtype the model holds its weights in (float16 when it generates in fp16). */
    ai.djl.ndarray.types.DataType weightType() {
        return model.weightType();
    }

    /** Whether this sampler and {@code other} run on the same loaded base weights (one copy of the base). */
    boolean sharesBaseWith(ModelRolloutSampler other) {
        return model == other.model;
    }

    /** A sampler on {@code model} with the tokenizer and chat template of {@code dir}; the caller owns the model. */
    private static ModelRolloutSampler withTokenizer(CausalLm model, LoraHost host, LoraAdapter.Weights weights,
            Path dir) throws IOException {
        SalsaTokenizer tokenizer = Files.isRegularFile(dir.resolve(ModelFolder.TOKENIZER))
                ? SalsaTokenizer.load(dir) : null;
        ChatTemplate template = null;
        try {
            template = tokenizer == null ? null : ChatTemplate.load(dir).orElse(null);
        } catch (IOException | RuntimeException e) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            throw e;
        }
        return new ModelRolloutSampler(model, host, weights, tokenizer, template);
    }

    @Override
    public List<Sample> sample(List<Request> requests, SamplingParams params) {
        if (host != null && host.loaded != this) {
            host.adapter.setWeights(adapterWeights); // the adapter swap: A and B only, between two batches
            host.loaded = this;
        }
        List<int[]> prompts = new ArrayList<>(requests.size());
        long[] seeds = new long[requests.size()];
        for (int i = 0; i < seeds.length; i++) {
            prompts.add(requests.get(i).promptIds());
            seeds[i] = requests.get(i).seed();
        }
        SamplingConfig config = new SamplingConfig(params.maxNewTokens(), params.temperature(), params.topK(),
                params.topP(), true, true);
        List<Sample> out = new ArrayList<>(seeds.length);
        for (Generation g : generator.generate(prompts, config, seeds)) {
            out.add(new Sample(g.tokens(), g.samplingLogProbs(), g.stoppedAtEos()));
        }
        return out;
    }

    @Override
    public int maxPositions() {
        return model.maxPositions();
    }

    @Override
    public int vocabSize() {
        return model.vocabSize();
    }

    @Override
    public String decode(int[] ids) {
        return tokenizer == null ? null : tokenizer.decode(ids);
    }

    @Override
    public int[] encode(String text) {
        return tokenizer == null ? null : tokenizer.encodeAsPrompt(text);
    }

    @Override
    public int[] encodeChat(List<Turn> conversation) {
        if (chatTemplate == null) {
            return null;
        }
        String rendered = chatTemplate.render(
                conversation.stream().map(t -> new ChatMessage(t.role(), t.content())).toList(), true);
        return tokenizer.encode(rendered);
    }

    @Override
    public void close() {
        if (host != null) {
            host.release();
        } else {
            model.close();
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
    }
}
