package io.salsa.model.lm.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.salsa.model.lm.Autocast;
import io.salsa.model.lm.GptLayers;
import io.salsa.model.lm.GptTransformer;
import io.salsa.model.lm.Precision;
import io.salsa.model.lm.Scalars;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The Llama-family backbone ({@code model.*}: token embeddings, the decoder layers, the final RMSNorm), shared by the
 * language model, the policy with its value head and the reward model.
 */
public final class LlamaDecoder extends AbstractBlock {

    /** What Hugging Face adds for a hidden key: finfo(float32).min, finite so a fully masked row is not NaN. */
    static final float MASKED = -Float.MAX_VALUE;

    private final LlamaConfig config;
    private final Rope rope;
    final Parameter embed;
    final List<LlamaLayer> layers = new ArrayList<>();
    final Parameter norm;
    /** Precision of the layers' matmuls ({@link LlamaModel#setPrecision}). */
    Precision precision = Precision.FP32;

    LlamaDecoder(NDManager manager, LlamaConfig config, DataType weightType) {
        this.config = config;
        this.rope = new Rope(manager, config);
        embed = addParameter(GptLayers.parameter(manager, "embed_tokens.weight", Parameter.Type.WEIGHT, weightType,
                config.vocabSize(), config.hiddenSize()));
        for (int i = 0; i < config.numLayers(); i++) {
            layers.add(addChildBlock("layers." + i, new LlamaLayer(manager, config, i, weightType)));
        }
        norm = addParameter(GptLayers.parameter(manager, "norm.weight", Parameter.Type.GAMMA, weightType,
                config.hiddenSize()));
    }

    /**
     * Runs the backbone on new tokens.
     *
     * @param ids         token ids [B, T] (int64), only the new ones when a cache is given
     * @param mask        attention mask [B, Tk] over cached + new positions
     * @param positionIds positions [B, T] (int64) of the new tokens
     * @param cache       cache to use and extend, or null
     * @param hidden      if non-null, receives HF's hidden states (embeddings, each layer's output, the last normed)
     * @return the final hidden states after the final norm [B, T, E]
     */
    NDArray forward(NDArray ids, NDArray mask, NDArray positionIds, LlamaKvCache cache, List<NDArray> hidden) {
        long b = ids.getShape().get(0);
        long t = ids.getShape().get(1);
        long tk = mask.getShape().get(1);
        if (cache != null) {
            cache.checkRoom(b, t, precision.computeType());
        }
        // float32 embeddings; rows of a float16 table (a frozen fp16 model) are widened exactly after the lookup
        NDArray h = Autocast.toFloat32(Embedding.embedding(ids, embed.getArray(), SparseFormat.DENSE).singletonOrThrow());
        if (config.gemma()) {
            // the factor cast to the embedding's dtype (float32 here), as transformers does
            h = h.mul(Scalars.of(h, (float) Math.sqrt(config.hiddenSize())));
        }
        if (hidden != null) {
            hidden.add(h);
        }
        NDList cosSin = rope.cosSin(positionIds);
        Map<Integer, NDArray> biasByWindow = new HashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            NDArray bias = biasByWindow.computeIfAbsent(config.layerWindows().get(i), w -> attentionBias(mask, b, t, tk, w));
            h = layers.get(i).forward(h, bias, cosSin.get(0), cosSin.get(1), cache, precision);
            if (hidden != null && i < layers.size() - 1) {
                hidden.add(h);
            }
        }
        if (cache != null) {
            cache.advance(t);
        }
        h = LlamaLayer.rmsNorm(h, norm, config);
        if (hidden != null) {
            hidden.add(h);
        }
        return h;
    }

    /**
     * Bias [B, 1, T, Tk]: query i (index Tk − T + i) sees key j iff j ≤ its index, the key's mask is 1 and, with a
     * sliding window W, j &gt; index − W (indices, not position ids, as in transformers).
     */
    static NDArray attentionBias(NDArray mask, long b, long t, long tk, int window) {
        NDManager m = mask.getManager();
        NDArray keys = mask.toType(DataType.FLOAT32, false).reshape(b, 1, 1, tk);
        if (t == 1 && (window <= 0 || tk <= window)) {
            // one new query (a cached generation step) that sees every key: no host array and no Java number
            // operand (DJL wraps each in a tensor over a new direct buffer), so no direct buffer per token
            return m.ones(new Shape(1, 1, 1, tk)).mul(keys).neg().add(Scalars.of(keys, 1)).mul(Scalars.of(keys, MASKED));
        }
        float[] visible = new float[Math.toIntExact(t * tk)];
        long offset = tk - t;
        for (int i = 0; i < t; i++) {
            long q = offset + i;
            for (int j = 0; j < tk; j++) {
                boolean ok = j <= q && (window <= 0 || j > q - window);
                visible[(int) (i * tk + j)] = ok ? 1f : 0f;
            }
        }
        NDArray causal = m.create(visible, new Shape(1, 1, t, tk));
        // (1 − visible) · min: exactly 0 or finfo.min, never min + min = −inf
        return causal.mul(keys).neg().add(Scalars.of(keys, 1)).mul(Scalars.of(keys, MASKED));
    }

    /** DJL entry point: inputs {@code (ids, mask)}, output {@code (final hidden states)}. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray ids = inputs.get(0).toType(DataType.INT64, false);
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : ids.onesLike();
        return new NDList(forward(ids, mask, GptTransformer.positionsFromMask(mask, ids.getShape().get(1)), null, null));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), inputShapes[0].get(1), config.hiddenSize())};
    }
}
