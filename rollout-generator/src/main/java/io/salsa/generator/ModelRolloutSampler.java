package io.salsa.generator;

import ai.djl.Device;
import io.salsa.model.generate.Generation;
import io.salsa.model.generate.Generator;
import io.salsa.model.generate.SamplingConfig;
import io.salsa.model.lm.Adaptable;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.ModelFolder;
import io.salsa.model.lm.lora.LoraAdapter;
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
    private final LoraAdapter adapter;
    private final Generator generator;
    private final SalsaTokenizer tokenizer;
    private final ChatTemplate chatTemplate;

    private ModelRolloutSampler(CausalLm model, LoraAdapter adapter, SalsaTokenizer tokenizer,
            ChatTemplate chatTemplate) {
        this.model = model;
        this.adapter = adapter;
        this.generator = new Generator(model);
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
    }

    /** The factory the service uses: loads the language model (any value/score head is ignored) and its tokenizer. */
    public static SamplerFactory factory() {
        return new SamplerFactory() {
            @Override
            public RolloutSampler open(Path modelDir, GeneratorConfig.Device device) throws IOException {
                return ModelRolloutSampler.open(modelDir, device);
            }

            @Override
            public RolloutSampler openAdapter(Path baseDir, Path adapterDir, GeneratorConfig.Device device)
                    throws IOException {
                return ModelRolloutSampler.openAdapter(baseDir, adapterDir, device);
            }
        };
    }

    /**
     * Loads {@code dir} (config.json, model.safetensors or a sharded index, optional tokenizer.json with its chat
     * template and generation_config.json) on {@code device}.
     */
    public static ModelRolloutSampler open(Path dir, GeneratorConfig.Device device) throws IOException {
        Device djl = device == GeneratorConfig.Device.GPU ? Device.gpu() : Device.cpu();
        CausalLm model = CausalLms.load(dir, GptModel.Head.NONE, djl);
        return withTokenizer(model, null, dir);
    }

    /**
     * Loads the base {@code baseDir} and applies the LoRA adapter in {@code adapterDir} (a learner's adapter-only
     * checkpoint: {@code adapter_config.json}, {@code adapter_model.safetensors}, the run's tokenizer). Refused,
     * naming both sha256: an adapter whose recorded base ({@code salsa_base_sha256}) is not {@code baseDir}'s, or
     * that records none.
     */
    public static ModelRolloutSampler openAdapter(Path baseDir, Path adapterDir, GeneratorConfig.Device device)
            throws IOException {
        Device djl = device == GeneratorConfig.Device.GPU ? Device.gpu() : Device.cpu();
        String baseSha = LoraSoups.baseSha256(baseDir);
        CausalLm model = CausalLms.load(baseDir, GptModel.Head.NONE, djl);
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
            return withTokenizer(model, adapter, adapterDir);
        } catch (IOException | RuntimeException e) {
            if (adapter != null) {
                adapter.close();
            }
            model.close();
            throw e;
        }
    }

    private static ModelRolloutSampler withTokenizer(CausalLm model, LoraAdapter adapter, Path dir)
            throws IOException {
        try {
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
            return new ModelRolloutSampler(model, adapter, tokenizer, template);
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    @Override
    public List<Sample> sample(List<Request> requests, SamplingParams params) {
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
        if (adapter != null) {
            adapter.close();
        }
        model.close();
        if (tokenizer != null) {
            tokenizer.close();
        }
    }
}
