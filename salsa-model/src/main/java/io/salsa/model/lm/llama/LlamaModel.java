package io.salsa.model.lm.llama;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import io.salsa.model.lm.AbstractCausalLm;
import io.salsa.model.lm.Adaptable;
import io.salsa.model.lm.Autocast;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.GptLayers;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.GptModel.Head;
import io.salsa.model.lm.GptOutput;
import io.salsa.model.lm.GptTransformer;
import io.salsa.model.lm.LinearAdapter;
import io.salsa.model.lm.LmCache;
import io.salsa.model.lm.Precision;
import io.salsa.model.lm.ValueHead;
import io.salsa.model.safetensors.Checkpoint;
import io.salsa.model.safetensors.CheckpointWriter;
import io.salsa.model.safetensors.DirectFloats;
import io.salsa.model.safetensors.SafeTensorsException;
import io.salsa.model.safetensors.TensorInfo;
import java.io.IOException;
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
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A Llama-family causal language model (Llama, Mistral, Qwen2, Gemma) in DJL whose parameters carry Hugging Face's
 * names, with the same optional heads as {@link GptModel}: a TRL-style value head ({@code v_head.summary.*}) for a
 * policy, or the {@code *ForSequenceClassification} score head ({@code score.weight} [1, E], no LM head) for a
 * reward model.
 *
 * <p>Weights are float32 on the model's device (bf16/fp16 checkpoints are widened exactly when loaded); the forward
 * computes in float32, or in fp16 mixed precision after {@link #setPrecision}. Scopes,
 * padding and position ids follow {@link CausalLm}'s conventions. Not thread-safe for training.
 */
public final class LlamaModel extends AbstractCausalLm implements Adaptable {

    /** {@code model_type} values this class runs. */
    public static final List<String> MODEL_TYPES = LlamaConfig.MODEL_TYPES;
    /** The untied LM head; tied models (Qwen2 small sizes, Gemma) store none. */
    public static final String LM_HEAD = "lm_head.weight";
    private static final String PREFIX = "model.";

    private final LlamaConfig config;
    private final Head head;
    private final LlamaDecoder decoder;
    private final Parameter lmHead;
    private final ValueHead valueHead;
    private final Map<String, Parameter> parameters;

    private LlamaModel(LlamaConfig config, Head head, Device device, DataType weightType) {
        super(device, "llama-model", weightType);
        this.config = Objects.requireNonNull(config, "config");
        this.head = Objects.requireNonNull(head, "head");
        this.decoder = new LlamaDecoder(manager, config, weightType);
        this.lmHead = head == Head.SCORE || config.tieWordEmbeddings() ? null
                : GptLayers.parameter(manager, LM_HEAD, Parameter.Type.WEIGHT, weightType, config.vocabSize(),
                        config.hiddenSize());
        this.valueHead = switch (head) {
            case NONE -> null;
            case VALUE -> new ValueHead(manager, config.hiddenSize(), GptModel.VALUE_WEIGHT, GptModel.VALUE_BIAS,
                    weightType);
            case SCORE -> new ValueHead(manager, config.hiddenSize(), GptModel.SCORE_WEIGHT, null, weightType);
        };
        if (weightType == DataType.FLOAT16) {
            decoder.precision = Precision.FP16;
        }
        Map<String, Parameter> ordered = new LinkedHashMap<>();
        ordered.put(PREFIX + "embed_tokens.weight", decoder.embed);
        for (int i = 0; i < decoder.layers.size(); i++) {
            String prefix = PREFIX + "layers." + i + ".";
            decoder.layers.get(i).getDirectParameters().forEach(p -> ordered.put(prefix + p.getKey(), p.getValue()));
        }
        ordered.put(PREFIX + "norm.weight", decoder.norm);
        if (lmHead != null) {
            ordered.put(LM_HEAD, lmHead);
        }
        if (valueHead != null) {
            valueHead.getDirectParameters().forEach(p -> ordered.put(p.getKey(), p.getValue()));
        }
        this.parameters = Collections.unmodifiableMap(ordered);
    }

    /** A model with every weight zero (to be filled by {@link #setWeights} or a loader). */
    public static LlamaModel create(LlamaConfig config, Head head, Device device) {
        return new LlamaModel(config, head, device, DataType.FLOAT32);
    }

    /**
     * Random weights: N(0, 0.02) matrices and embeddings (as transformers' {@code initializer_range}), zero biases,
     * unit norm gains (Gemma: 0, its norm multiplies by 1 + w). Deterministic for a seed (Java RNG).
     */
    public static LlamaModel random(LlamaConfig config, Head head, long seed, Device device) {
        LlamaModel model = new LlamaModel(config, head, device, DataType.FLOAT32);
        SplittableRandom rng = new SplittableRandom(seed);
        for (Map.Entry<String, Parameter> e : model.parameters.entrySet()) {
            model.initialise(e.getKey(), e.getValue(), rng.split());
        }
        return model;
    }

    private void initialise(String name, Parameter p, SplittableRandom rng) {
        float[] values = new float[Math.toIntExact(p.getArray().size())];
        if (name.endsWith("norm.weight")) {
            Arrays.fill(values, config.gemma() ? 0f : 1f);
        } else if (name.endsWith(".weight")) {
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (rng.nextGaussian() * 0.02);
            }
        }
        setWeights(name, values);
    }

    /**
     * Loads a Hugging Face model folder: {@code config.json} (4.x or 5.x layout) and {@code model.safetensors} or
     * {@code model.safetensors.index.json} with its shards. Accepted besides the exact tensor set: tensors of other
     * heads (ignored), an {@code lm_head.weight} of a tied or reward model (ignored, shape checked) and stored
     * {@code rotary_emb.inv_freq} buffers (ignored). A head the checkpoint lacks starts from
     * {@link GptModel#HEAD_INIT_SEED}. Anything else missing, extra or mis-shaped is refused naming file and tensor.
     */
    public static LlamaModel load(Path dir, Head head, Device device) throws IOException {
        return load(dir, head, device, DataType.FLOAT32);
    }

    /**
     * {@link #load(Path, Head, Device)} holding the weights in {@code weightType}: float32, or float16 for an
     * inference-only model (allocated as float16, each tensor rounded as it is read, so no float32 copy of the model
     * ever exists; its forward is fp16 autocast, see {@link io.salsa.model.lm.CausalLms#loadFrozen}).
     */
    public static LlamaModel load(Path dir, Head head, Device device, DataType weightType) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir + " (expected a model folder with config.json and model.safetensors)");
        }
        LlamaModel model = new LlamaModel(LlamaConfig.load(dir), head, device, weightType);
        try {
            model.loadWeights(dir);
            model.readGenerationConfig(dir);
            return model;
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** Overwrites every weight from a folder's checkpoint (single or sharded) or a safetensors file, in place. */
    @Override
    public void loadWeights(Path dirOrFile) throws IOException {
        try (Checkpoint ck = Checkpoint.open(dirOrFile)) {
            Set<String> ignorable = new HashSet<>();
            for (Head h : Head.values()) {
                if (h != head) {
                    ignorable.addAll(GptModel.headTensorNames(h));
                }
            }
            Set<String> loaded = new HashSet<>();
            for (String name : ck.names()) {
                TensorInfo info = ck.info(name);
                Parameter p = parameters.get(name);
                if (p == null) {
                    if (name.equals(LM_HEAD)) {
                        requireShape(ck, name, info.shape(), new long[] {config.vocabSize(), config.hiddenSize()});
                    } else if (!ignorable.contains(name) && !name.endsWith(".rotary_emb.inv_freq")) {
                        throw new SafeTensorsException(ck.fileOf(name) + ": unexpected tensor '" + name + "' "
                                + Arrays.toString(info.shape()) + " for a " + config.modelType() + " " + head + " model with "
                                + config.numLayers() + " layers" + (config.qkvBias() ? "" : " and no q/k/v bias"));
                    }
                    continue;
                }
                requireShape(ck, name, info.shape(), p.getArray().getShape().getShape());
                if (!info.dtype().isFloatConvertible()) {
                    throw new SafeTensorsException(ck.fileOf(name) + ": tensor '" + name + "' has dtype " + info.dtype()
                            + ", expected a float type");
                }
                try (DirectFloats values = ck.readDirect(name)) {
                    writeWeights(p, values.floats());
                }
                loaded.add(name);
            }
            List<String> headNames = GptModel.headTensorNames(head);
            boolean headMissing = headNames.stream().noneMatch(loaded::contains);
            for (String name : parameters.keySet()) {
                if (!loaded.contains(name) && !(headMissing && headNames.contains(name))) {
                    throw new SafeTensorsException(ck.source() + ": missing tensor '" + name + "' "
                            + parameters.get(name).getArray().getShape() + " that the " + config.modelType() + " config needs");
                }
            }
            if (headMissing && !headNames.isEmpty()) {
                SplittableRandom rng = new SplittableRandom(GptModel.HEAD_INIT_SEED);
                for (String name : headNames) {
                    initialise(name, parameters.get(name), rng.split());
                }
            }
        }
    }

    private static void requireShape(Checkpoint ck, String name, long[] actual, long[] expected) throws SafeTensorsException {
        if (!Arrays.equals(actual, expected)) {
            throw new SafeTensorsException(ck.fileOf(name) + ": tensor '" + name + "' has shape " + Arrays.toString(actual)
                    + ", the config needs " + Arrays.toString(expected));
        }
    }

    /** Writes {@code config.json} (transformers 5 layout) and the F32 weights, sharded above 5 GB as transformers does. */
    @Override
    public void save(Path dir) throws IOException {
        save(dir, CheckpointWriter.DEFAULT_MAX_SHARD_BYTES);
    }

    /**
     * Writes the folder with shards of at most {@code maxShardBytes} (one {@code model.safetensors} when the weights
     * fit, else shards + {@code model.safetensors.index.json}). Tied models store no {@code lm_head.weight}; a reward
     * model is written as {@code *ForSequenceClassification}.
     */
    public void save(Path dir, long maxShardBytes) throws IOException {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        parameters.forEach((name, p) -> shapes.put(name, p.getArray().getShape().getShape()));
        Files.createDirectories(dir);
        CheckpointWriter.write(dir, shapes, this::weights, maxShardBytes);
        config.save(dir, head == Head.SCORE);
    }

    public LlamaConfig config() {
        return config;
    }

    @Override
    public String modelType() {
        return config.modelType();
    }

    @Override
    public Head head() {
        return head;
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public int hiddenSize() {
        return config.hiddenSize();
    }

    @Override
    public int numLayers() {
        return config.numLayers();
    }

    @Override
    public int maxPositions() {
        return config.maxPositions();
    }

    @Override
    public int eosTokenId() {
        return config.eosTokenId();
    }

    @Override
    protected List<Integer> configEosTokenIds() {
        return config.eosTokenIds();
    }

    @Override
    public int padTokenId() {
        return config.padOrEos();
    }

    @Override
    public Map<String, Parameter> parameters() {
        return parameters;
    }

    /**
     * Chooses the forward precision (float32 by default). {@link Precision#FP16} is mixed precision as under
     * {@code torch.autocast}: the float32 weights are cast to float16 inside each forward (differentiably while a
     * {@code GradientCollector} records, see {@link Autocast}) for the projections, attention matmuls, MLP, LM head
     * and value/score head; embeddings, RMSNorm, RoPE, the softmax and the residual stream stay float32, and every
     * output (logits, hidden states, values, scores) is float32. Make caches with {@link #newCache} after this call.
     */
    @Override
    public void setPrecision(Precision precision) {
        checkPrecision(precision);
        decoder.precision = precision;
    }

    @Override
    public Precision precision() {
        return decoder.precision;
    }

    /** The q/k/v/o and gate/up/down projection weights of every layer, all {@code nn.Linear} ([out, in]). */
    @Override
    public Map<String, Boolean> adaptableWeights() {
        Map<String, Boolean> out = new LinkedHashMap<>();
        for (String name : parameters.keySet()) {
            if (name.startsWith(PREFIX + "layers.") && name.endsWith("_proj.weight")) {
                out.put(name, false);
            }
        }
        return out;
    }

    @Override
    public void setLinearAdapter(String weightName, LinearAdapter adapter) {
        Parameter weight = parameters.get(weightName);
        if (weight == null || !adaptableWeights().containsKey(weightName)) {
            throw new IllegalArgumentException("no adaptable linear layer with weight '" + weightName + "' in this "
                    + config.modelType() + " model (adaptable: model.layers.N.{self_attn.q|k|v|o,mlp.gate|up|down}_proj.weight)");
        }
        int layer = Integer.parseInt(weightName.substring((PREFIX + "layers.").length()).split("\\.")[0]);
        decoder.layers.get(layer).setAdapter(weight, adapter);
    }

    /** A pre-allocated {@link LlamaKvCache} of {@code capacity} positions in the current precision's dtype. */
    @Override
    public LmCache newCache(NDManager scope, int batch, int capacity) {
        return new LlamaKvCache(scope, config, batch, capacity, decoder.precision.computeType());
    }

    @Override
    public GptOutput run(NDArray ids, NDArray mask, NDArray positionIds, LmCache cache, boolean hiddenStates) {
        if (ids.getShape().dimension() != 2) {
            throw new IllegalArgumentException("ids must be [batch, time], got " + ids.getShape());
        }
        if (cache != null && !(cache instanceof LlamaKvCache)) {
            throw new IllegalArgumentException("a " + config.modelType() + " model needs the cache its newCache made, got "
                    + cache.getClass().getName());
        }
        LlamaKvCache kv = (LlamaKvCache) cache;
        NDArray longIds = ids.getDataType() == DataType.INT64 ? ids : ids.toType(DataType.INT64, false);
        long b = ids.getShape().get(0);
        long t = ids.getShape().get(1);
        long past = kv == null ? 0 : kv.length();
        if (mask == null) {
            mask = longIds.getManager().ones(new Shape(b, past + t), DataType.INT64);
        }
        if (mask.getShape().dimension() != 2 || mask.getShape().get(1) != past + t || mask.getShape().get(0) != b) {
            throw new IllegalArgumentException("attention mask " + mask.getShape() + " must be [" + b + ", " + (past + t)
                    + "] (cached + new positions)");
        }
        if (past + t > config.maxPositions()) {
            throw new IllegalArgumentException("sequence of " + (past + t) + " tokens exceeds max_position_embeddings="
                    + config.maxPositions());
        }
        NDArray positions = positionIds != null ? positionIds.toType(DataType.INT64, false)
                : GptTransformer.positionsFromMask(mask, t);
        List<NDArray> hidden = hiddenStates ? new ArrayList<>() : null;
        NDArray last = decoder.forward(longIds, mask, positions, kv, hidden);
        NDArray logits = null;
        if (head != Head.SCORE) {
            Parameter w = lmHead != null ? lmHead : decoder.embed;
            // under FP16 the LM head runs in float16, the logits come back float32 (log-softmax needs the range)
            logits = Autocast.toFloat32(LlamaLayer.linear(last, w, null, decoder.precision));
        }
        NDArray values = head == Head.VALUE ? valueHead.apply(last, decoder.precision) : null;
        return new GptOutput(logits, last, values, hidden == null ? List.of() : List.copyOf(hidden));
    }

    @Override
    public NDArray tokenLogProbs(NDArray ids, NDArray mask) {
        if (head == Head.SCORE) {
            throw new IllegalStateException("a reward model (Head.SCORE) has no LM head, so no token log-probs");
        }
        return GptModel.logProbsOfNext(run(ids, mask).logits(), ids);
    }

    @Override
    public NDArray values(NDArray hidden) {
        if (head != Head.VALUE) {
            throw new IllegalStateException("values need a model loaded with Head.VALUE, this one has " + head);
        }
        return valueHead.apply(hidden, decoder.precision);
    }

    /** Per-position scores [B, T] of a reward model (the score head on every final hidden state). */
    public NDArray positionScores(NDArray hidden) {
        if (head != Head.SCORE) {
            throw new IllegalStateException("scores need a model loaded with Head.SCORE, this one has " + head);
        }
        return valueHead.apply(hidden, decoder.precision);
    }

    /**
     * Reward scores [B] as Hugging Face's {@code *ForSequenceClassification} returns them: the score at the rightmost
     * index whose input id is not {@code pad_token_id} (the last real token with right padding, the last index with
     * left padding); the last index for every row when the config has no pad id.
     */
    @Override
    public NDArray scores(NDArray ids, NDArray mask) {
        NDArray perPosition = positionScores(run(ids, mask).lastHidden());
        long t = ids.getShape().get(1);
        NDManager m = perPosition.getManager();
        NDArray longIds = ids.toType(DataType.INT64, false);
        NDArray index;
        if (config.padTokenId() < 0) {
            index = m.full(new Shape(ids.getShape().get(0), 1), t - 1, DataType.INT64);
        } else {
            NDArray notPad = longIds.neq(config.padTokenId()).toType(DataType.INT64, false);
            index = notPad.mul(m.arange(0, t, 1, DataType.INT64)).argMax(1).reshape(-1, 1);
        }
        return perPosition.gather(index, 1).squeeze(1);
    }
}
