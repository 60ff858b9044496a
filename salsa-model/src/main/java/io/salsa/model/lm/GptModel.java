package io.salsa.model.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import io.salsa.model.safetensors.DirectFloats;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.safetensors.SafeTensorsException;
import io.salsa.model.safetensors.SafeTensorsWriter;
import io.salsa.model.safetensors.TensorInfo;
import io.salsa.model.safetensors.TensorSpec;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A GPT-2 causal language model in DJL (PyTorch engine) whose parameters carry Hugging Face's names, with an
 * optional value head (the PPO policy) or scalar score head (the reward model) on the same backbone.
 *
 * <p>The model owns its weights in its own {@link NDManager} on one {@link Device}. Every forward result is
 * created in the manager of the {@code ids} array passed in, so callers run each step in a scope of their own
 * ({@link #newScope()}) and close it; nothing accumulates in the model's manager. Forward passes outside a
 * DJL {@code GradientCollector} build no autograd graph (reference model, generation); inside one they do,
 * for the parameters made trainable with {@link #setTrainable(boolean)}. Not thread-safe for training.
 */
public final class GptModel extends AbstractCausalLm implements Adaptable {

    /** Which head sits on top of the backbone, besides the tied language-model head every model has. */
    public enum Head {
        /** Language model only ({@code GPT2LMHeadModel}). */
        NONE,
        /** Policy: LM + TRL-style value head {@code v_head.summary.weight [1, E]}, {@code v_head.summary.bias [1]}. */
        VALUE,
        /** Reward model: HF {@code GPT2ForSequenceClassification} head {@code score.weight [1, E]}, no bias. */
        SCORE
    }

    /** Tensor names of the value head. */
    public static final String VALUE_WEIGHT = "v_head.summary.weight";
    /** Tensor names of the value head. */
    public static final String VALUE_BIAS = "v_head.summary.bias";
    /** Tensor name of the reward head. */
    public static final String SCORE_WEIGHT = "score.weight";
    /** The untied LM head some writers add; GPT-2 ties it to {@code transformer.wte.weight}. */
    public static final String LM_HEAD = "lm_head.weight";
    /** Seed of a head that a checkpoint lacks (a policy made from an SFT model), so its start is reproducible. */
    public static final long HEAD_INIT_SEED = 0x5A15AL;

    private final GptConfig config;
    private final Head head;
    private final GptTransformer transformer;
    private final ValueHead valueHead;
    private final Map<String, Parameter> parameters;

    private GptModel(GptConfig config, Head head, Device device, DataType weightType) {
        super(device, "gpt-model", weightType);
        this.config = config;
        this.head = head;
        this.transformer = new GptTransformer(manager, config, weightType);
        this.valueHead = switch (head) {
            case NONE -> null;
            case VALUE -> new ValueHead(manager, config.nEmbd(), VALUE_WEIGHT, VALUE_BIAS, weightType);
            case SCORE -> new ValueHead(manager, config.nEmbd(), SCORE_WEIGHT, null, weightType);
        };
        if (weightType == DataType.FLOAT16) {
            transformer.precision = Precision.FP16;
        }
        Map<String, Parameter> ordered = new LinkedHashMap<>();
        ordered.put("transformer.wte.weight", transformer.wte);
        ordered.put("transformer.wpe.weight", transformer.wpe);
        for (int i = 0; i < transformer.blocks.size(); i++) {
            String prefix = "transformer.h." + i + ".";
            transformer.blocks.get(i).getDirectParameters().forEach(p -> ordered.put(prefix + p.getKey(), p.getValue()));
        }
        ordered.put("transformer.ln_f.weight", transformer.lnfWeight);
        ordered.put("transformer.ln_f.bias", transformer.lnfBias);
        if (valueHead != null) {
            valueHead.getDirectParameters().forEach(p -> ordered.put(p.getKey(), p.getValue()));
        }
        this.parameters = Collections.unmodifiableMap(ordered);
    }

    /** A model with every weight zero (to be filled by {@link #setWeights} or a loader). */
    public static GptModel create(GptConfig config, Head head, Device device) {
        return new GptModel(config, head, device, DataType.FLOAT32);
    }

    /**
     * A freshly initialised model as GPT-2 initialises one: N(0, 0.02) weights, residual projections scaled
     * by 1/sqrt(2·n_layer), zero biases, unit LayerNorm gains. Deterministic for a seed (Java RNG, not the
     * engine's).
     */
    public static GptModel random(GptConfig config, Head head, long seed, Device device) {
        GptModel model = new GptModel(config, head, device, DataType.FLOAT32);
        SplittableRandom rng = new SplittableRandom(seed);
        for (Map.Entry<String, Parameter> e : model.parameters.entrySet()) {
            model.initialise(e.getKey(), e.getValue(), rng.split());
        }
        return model;
    }

    private void initialise(String name, Parameter p, SplittableRandom rng) {
        int n = Math.toIntExact(p.getArray().size());
        float[] values = new float[n];
        if (name.endsWith("ln_1.weight") || name.endsWith("ln_2.weight") || name.endsWith("ln_f.weight")) {
            java.util.Arrays.fill(values, 1f);
        } else if (name.endsWith(".weight")) {
            double std = 0.02;
            if (name.endsWith("c_proj.weight")) {
                std /= Math.sqrt(2.0 * config.nLayer());
            }
            for (int i = 0; i < n; i++) {
                values[i] = (float) (rng.nextGaussian() * std);
            }
        }
        setWeights(name, values);
    }

    /**
     * Loads a model folder ({@code config.json} + {@code model.safetensors}) as Hugging Face writes it.
     *
     * <p>Accepted besides the exact tensor set: an untied {@code lm_head.weight} of the right shape (ignored,
     * GPT-2 ties it), tensors of the other heads (ignored), names without the {@code transformer.} prefix (as
     * in OpenAI's original GPT-2 upload) and its {@code attn.bias}/{@code attn.masked_bias} buffers (ignored).
     * A head the file lacks starts from {@link #HEAD_INIT_SEED}. Anything else missing, extra or mis-shaped is
     * refused with a message naming the tensor. F16/BF16 files are converted to float32 in Java.
     */
    public static GptModel load(Path dir, Head head, Device device) throws IOException {
        return load(dir, head, device, DataType.FLOAT32);
    }

    /**
     * {@link #load(Path, Head, Device)} holding the weights in {@code weightType}: float32, or float16 for an
     * inference-only model (allocated as float16, each tensor rounded as it is read, so no float32 copy of the model
     * ever exists; its forward is fp16 autocast, see {@link CausalLms#loadFrozen}).
     */
    public static GptModel load(Path dir, Head head, Device device, DataType weightType) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir + " (expected a model folder with config.json and model.safetensors)");
        }
        GptConfig config = GptConfig.load(dir);
        GptModel model = new GptModel(config, head, device, weightType);
        try {
            model.loadWeights(dir.resolve(ModelFolder.WEIGHTS));
            model.readGenerationConfig(dir);
            return model;
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** Overwrites every weight from a model folder's or a safetensors file (hot swap: arrays keep their identity). */
    @Override
    public void loadWeights(Path dirOrFile) throws IOException {
        Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve("model.safetensors") : dirOrFile;
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file + " (a model folder needs model.safetensors)");
        }
        try (SafeTensors st = SafeTensors.open(file)) {
            boolean prefixed = st.names().stream().anyMatch(n -> n.startsWith("transformer."));
            Set<String> loaded = new HashSet<>();
            Set<String> otherHeads = new HashSet<>();
            for (Head h : Head.values()) {
                if (h != head) {
                    otherHeads.addAll(headTensorNames(h));
                }
            }
            for (TensorInfo info : st.tensors().values()) {
                String name = info.name();
                String ours = prefixed || otherHeads.contains(name) || parameters.containsKey(name)
                        || name.equals(LM_HEAD) ? name : "transformer." + name;
                Parameter p = parameters.get(ours);
                if (p == null) {
                    if (ours.equals(LM_HEAD)) {
                        requireShape(file, name, info.shape(), new long[] {config.vocabSize(), config.nEmbd()});
                    } else if (otherHeads.contains(ours) || ours.endsWith(".attn.bias") || ours.endsWith(".attn.masked_bias")) {
                        continue;
                    } else {
                        throw new SafeTensorsException(file + ": unexpected tensor '" + name + "' " + Arrays.toString(info.shape())
                                + " for a GPT-2 " + head + " model with " + config.nLayer() + " layers");
                    }
                    continue;
                }
                requireShape(file, name, info.shape(), p.getArray().getShape().getShape());
                if (!info.dtype().isFloatConvertible()) {
                    throw new SafeTensorsException(file + ": tensor '" + name + "' has dtype " + info.dtype() + ", expected a float type");
                }
                try (DirectFloats values = st.readDirect(name)) {
                    writeWeights(p, values.floats());
                }
                loaded.add(ours);
            }
            List<String> headNames = headTensorNames(head);
            boolean headMissing = headNames.stream().noneMatch(loaded::contains);
            for (String name : parameters.keySet()) {
                if (!loaded.contains(name) && !(headMissing && headNames.contains(name))) {
                    throw new SafeTensorsException(file + ": missing tensor '" + name + "' " + parameters.get(name).getArray().getShape());
                }
            }
            if (headMissing && !headNames.isEmpty()) {
                initialiseHead();
            }
        }
    }

    private static void requireShape(Path file, String name, long[] actual, long[] expected) throws SafeTensorsException {
        if (!Arrays.equals(actual, expected)) {
            throw new SafeTensorsException(file + ": tensor '" + name + "' has shape " + Arrays.toString(actual)
                    + ", the config needs " + Arrays.toString(expected));
        }
    }

    /** Writes {@code config.json} and {@code model.safetensors} (F32, tied LM head not stored) into {@code dir}. */
    @Override
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        config.save(dir);
        List<TensorSpec> specs = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            specs.add(new TensorSpec(e.getKey(), e.getValue().getArray().getShape().getShape()));
        }
        try (SafeTensorsWriter w = SafeTensorsWriter.create(dir.resolve(ModelFolder.WEIGHTS), specs, SafeTensorsWriter.PT_METADATA)) {
            for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
                w.write(e.getKey(), weights(e.getKey()));
            }
            w.commit();
        }
    }

    /** Gives the head weights a checkpoint did not contain their documented deterministic start. */
    void initialiseHead() {
        SplittableRandom rng = new SplittableRandom(HEAD_INIT_SEED);
        for (String name : headTensorNames(head)) {
            initialise(name, parameters.get(name), rng.split());
        }
    }

    /** Tensor names a head adds to the backbone's. */
    public static List<String> headTensorNames(Head head) {
        return switch (head) {
            case NONE -> List.of();
            case VALUE -> List.of(VALUE_WEIGHT, VALUE_BIAS);
            case SCORE -> List.of(SCORE_WEIGHT);
        };
    }

    public GptConfig config() {
        return config;
    }

    @Override
    public String modelType() {
        return "gpt2";
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public int hiddenSize() {
        return config.nEmbd();
    }

    @Override
    public int numLayers() {
        return config.nLayer();
    }

    @Override
    public int maxPositions() {
        return config.nPositions();
    }

    @Override
    public int eosTokenId() {
        return config.eosTokenId();
    }

    @Override
    public int padTokenId() {
        return config.padTokenId();
    }

    /** GPT-2's {@link KvCache}, which grows by concatenation (the capacity is not needed). */
    @Override
    public LmCache newCache(NDManager scope, int batch, int capacity) {
        return new KvCache(scope, config.nLayer());
    }

    /** {@link #forward(NDArray, NDArray, NDArray, KvCache, boolean)} behind the {@link CausalLm} interface. */
    @Override
    public GptOutput run(NDArray ids, NDArray mask, NDArray positionIds, LmCache cache, boolean hiddenStates) {
        if (cache != null && !(cache instanceof KvCache)) {
            throw new IllegalArgumentException("a GPT-2 model needs the cache its newCache made, got " + cache.getClass().getName());
        }
        return forward(ids, mask, positionIds, (KvCache) cache, hiddenStates);
    }

    @Override
    public Head head() {
        return head;
    }

    /** Every parameter by its Hugging Face name, in checkpoint order (embeddings, blocks, ln_f, head). */
    @Override
    public Map<String, Parameter> parameters() {
        return parameters;
    }

    /**
     * Chooses the forward precision (float32 by default). {@link Precision#FP16} is mixed precision as under
     * {@code torch.autocast}: the float32 weights are cast to float16 inside each forward (differentiably, see
     * {@link Autocast}) for the matmuls; outputs (logits, values, hidden states) are float32 either way.
     */
    @Override
    public void setPrecision(Precision precision) {
        checkPrecision(precision);
        transformer.precision = precision;
    }

    @Override
    public Precision precision() {
        return transformer.precision;
    }

    /** Writes values into a parameter in place (DJL keeps the buffer alive with the array). */
    /** Copies every weight of {@code other} (same config, same or richer head) into this model in place. */
    @Override
    public void copyWeightsFrom(CausalLm other) {
        if (!(other instanceof GptModel gpt) || !gpt.config.equals(config)) {
            throw new IllegalArgumentException("cannot copy weights between different configs: "
                    + (other instanceof GptModel gpt2 ? gpt2.config : other.modelType()) + " vs " + config);
        }
        CausalLms.copyWeights(other, this);
    }

    /**
     * Every block's four Conv1D weights ({@code attn.c_attn}, {@code attn.c_proj}, {@code mlp.c_fc},
     * {@code mlp.c_proj}), all stored [in, out]: PEFT's {@code fan_in_fan_out=True} for GPT-2.
     */
    @Override
    public Map<String, Boolean> adaptableWeights() {
        Map<String, Boolean> out = new LinkedHashMap<>();
        for (String name : parameters.keySet()) {
            if (name.startsWith("transformer.h.") && (name.endsWith(".c_attn.weight") || name.endsWith(".c_proj.weight")
                    || name.endsWith(".c_fc.weight"))) {
                out.put(name, true);
            }
        }
        return out;
    }

    @Override
    public void setLinearAdapter(String weightName, LinearAdapter adapter) {
        Parameter weight = parameters.get(weightName);
        if (weight == null || !adaptableWeights().containsKey(weightName)) {
            throw new IllegalArgumentException("no adaptable Conv1D with weight '" + weightName + "' in this gpt2 model "
                    + "(adaptable: transformer.h.N.{attn.c_attn,attn.c_proj,mlp.c_fc,mlp.c_proj}.weight)");
        }
        int layer = Integer.parseInt(weightName.substring("transformer.h.".length()).split("\\.")[0]);
        transformer.blocks.get(layer).setAdapter(weight, adapter);
    }

    /** Logits and final hidden states (and values for a policy) for ids [B, T] and attention mask [B, T]. */
    public GptOutput forward(NDArray ids, NDArray mask) {
        return forward(ids, mask, null, null, false);
    }

    /**
     * The full forward pass.
     *
     * @param ids          token ids [B, T] (any integer type); with a cache, only the new tokens
     * @param mask         attention mask [B, Tk] (1 real, 0 padding) over all positions, cached ones included;
     *                     left and right padding both work
     * @param positionIds  positions [B, T], or null for cumsum(mask) − 1 (which is 0..n−1 over real tokens)
     * @param cache        key/value cache extended by this call, or null
     * @param hiddenStates whether to return HF's hidden states (all layers)
     */
    public GptOutput forward(NDArray ids, NDArray mask, NDArray positionIds, KvCache cache, boolean hiddenStates) {
        if (ids.getShape().dimension() != 2) {
            throw new IllegalArgumentException("ids must be [batch, time], got " + ids.getShape());
        }
        NDArray longIds = ids.getDataType() == DataType.INT64 ? ids : ids.toType(DataType.INT64, false);
        long t = ids.getShape().get(1);
        long past = cache == null ? 0 : cache.length();
        if (mask == null) {
            mask = longIds.getManager().ones(new Shape(ids.getShape().get(0), past + t), DataType.INT64);
        }
        if (mask.getShape().get(1) != past + t || mask.getShape().get(0) != ids.getShape().get(0)) {
            throw new IllegalArgumentException("attention mask " + mask.getShape() + " must be [" + ids.getShape().get(0)
                    + ", " + (past + t) + "] (cached + new positions)");
        }
        if (past + t > config.nPositions()) {
            throw new IllegalArgumentException("sequence of " + (past + t) + " tokens exceeds n_positions=" + config.nPositions());
        }
        NDArray positions = positionIds != null ? positionIds.toType(DataType.INT64, false)
                : GptTransformer.positionsFromMask(mask, t);
        List<NDArray> hidden = hiddenStates ? new ArrayList<>() : null;
        NDArray last = transformer.forward(longIds, mask, positions, cache, hidden);
        NDArray logits;
        if (transformer.precision == Precision.FP32) {
            NDArray wteT = transformer.wte.getArray().transpose();
            wteT.attach(last.getManager()); // the transposed view belongs to this step, not to the model
            logits = last.matMul(wteT);
        } else {
            // LM head in float16, then float32 logits: log-softmax over the vocabulary needs the range
            NDArray wteT = Autocast.half(transformer.wte.getArray(), last.getManager()).transpose();
            wteT.attach(last.getManager()); // a float16 wte (frozen fp16 model) is not copied: its view is this step's
            logits = Autocast.toFloat32(Autocast.half(last).matMul(wteT));
        }
        NDArray values = head == Head.VALUE ? valueHead.apply(last, transformer.precision) : null;
        return new GptOutput(logits, last, values, hidden == null ? List.of() : List.copyOf(hidden));
    }

    /** log p(ids[:, t+1] | ids[:, ≤t]) for every t: [B, T−1]. Padding positions hold meaningless values. */
    @Override
    public NDArray tokenLogProbs(NDArray ids, NDArray mask) {
        return logProbsOfNext(forward(ids, mask).logits(), ids);
    }

    /** Log-probabilities of the next tokens of {@code ids} under {@code logits} [B, T, V]: [B, T−1]. */
    public static NDArray logProbsOfNext(NDArray logits, NDArray ids) {
        NDArray logp = logits.get(new NDIndex(":, :-1, :")).logSoftmax(-1);
        NDArray targets = ids.get(new NDIndex(":, 1:")).toType(DataType.INT64, false).expandDims(-1);
        return logp.gather(targets, -1).squeeze(-1);
    }

    /**
     * Result of {@link CausalLm#policyForward}.
     *
     * @param logits   [B, T, V]
     * @param logProbs [B, T−1] log π(ids[:, t+1] | ids[:, ≤t])
     * @param values   [B, T−1] V(state after token t)
     */
    public record PolicyOutput(NDArray logits, NDArray logProbs, NDArray values) {
    }

    /** Entropy of each next-token distribution, [B, T−1] (a PPO diagnostic). */
    public static NDArray entropyOfNext(NDArray logits) {
        NDArray logp = logits.get(new NDIndex(":, :-1, :")).logSoftmax(-1);
        return logp.exp().mul(logp).sum(new int[] {-1}).neg();
    }

    /** Value-head output [B, T] for hidden states [B, T, E] (policy models only). */
    @Override
    public NDArray values(NDArray hidden) {
        if (head != Head.VALUE) {
            throw new IllegalStateException("values need a model loaded with Head.VALUE, this one has " + head);
        }
        return valueHead.apply(hidden, transformer.precision);
    }

    /**
     * Reward-model scores [B]: the score head on the final hidden state of each row's last real token (the
     * last position whose mask is 1; right and left padding both work), as HF's sequence classifier does.
     */
    @Override
    public NDArray scores(NDArray ids, NDArray mask) {
        if (head != Head.SCORE) {
            throw new IllegalStateException("scores need a model loaded with Head.SCORE, this one has " + head);
        }
        NDArray last = forward(ids, mask).lastHidden();
        return valueHead.apply(lastRealToken(last, mask), transformer.precision);
    }

    /** Picks hidden [B, T, E] at each row's last position with mask 1 → [B, E]. */
    static NDArray lastRealToken(NDArray hidden, NDArray mask) {
        long b = hidden.getShape().get(0);
        long t = hidden.getShape().get(1);
        long e = hidden.getShape().get(2);
        NDManager m = hidden.getManager();
        NDArray index = mask.toType(DataType.INT64, false).mul(m.arange(0, t, 1, DataType.INT64)).argMax(1);
        NDArray gatherIndex = index.reshape(b, 1, 1).broadcast(new Shape(b, 1, e));
        return hidden.gather(gatherIndex, 1).squeeze(1);
    }
}
