package io.salsa.model.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;

/**
 * GPT-2's backbone ({@code transformer.*}: token and position embeddings, the blocks, the final LayerNorm),
 * shared by the language model, the policy with its value head and the reward model.
 */
public final class GptTransformer extends AbstractBlock {

    /** Additive attention bias for a key a query must not see; finite so a fully masked row stays finite. */
    static final float MASKED = -1e30f;

    private final GptConfig config;
    final Parameter wte;
    final Parameter wpe;
    final List<GptBlock> blocks = new ArrayList<>();
    final Parameter lnfWeight;
    final Parameter lnfBias;
    /** Set by {@link GptModel#setPrecision}; the blocks run in it. */
    Precision precision = Precision.FP32;

    GptTransformer(NDManager manager, GptConfig config, DataType weightType) {
        this.config = config;
        wte = addParameter(GptLayers.parameter(manager, "wte.weight", Parameter.Type.WEIGHT, weightType,
                config.vocabSize(), config.nEmbd()));
        wpe = addParameter(GptLayers.parameter(manager, "wpe.weight", Parameter.Type.WEIGHT, weightType,
                config.nPositions(), config.nEmbd()));
        for (int i = 0; i < config.nLayer(); i++) {
            blocks.add(addChildBlock("h." + i, new GptBlock(manager, config, weightType)));
        }
        lnfWeight = addParameter(GptLayers.parameter(manager, "ln_f.weight", Parameter.Type.GAMMA, weightType,
                config.nEmbd()));
        lnfBias = addParameter(GptLayers.parameter(manager, "ln_f.bias", Parameter.Type.BETA, weightType,
                config.nEmbd()));
    }

    /**
     * Runs the backbone on new tokens.
     *
     * @param ids         token ids [B, T] (int64), the new tokens only when a cache is given
     * @param mask        attention mask [B, Tk] over every key position (cached + new), 1 = real token
     * @param positionIds positions [B, T] of the new tokens
     * @param cache       key/value cache to extend, or null
     * @param hidden      if non-null, receives HF's hidden states: embeddings, each block's output, the last
     *                    one after {@code ln_f}
     * @return the final hidden states after {@code ln_f} [B, T, E]
     */
    NDArray forward(NDArray ids, NDArray mask, NDArray positionIds, KvCache cache, List<NDArray> hidden) {
        long b = ids.getShape().get(0);
        long t = ids.getShape().get(1);
        long tk = mask.getShape().get(1);
        if (tk < t) {
            throw new IllegalArgumentException("attention mask covers " + tk + " positions, fewer than the " + t + " new tokens");
        }
        // float32 embeddings; rows of float16 tables (a frozen fp16 model) are widened exactly after the lookup
        NDArray h = Autocast.toFloat32(Embedding.embedding(ids, wte.getArray(), SparseFormat.DENSE).singletonOrThrow())
                .add(Autocast.toFloat32(Embedding.embedding(positionIds, wpe.getArray(), SparseFormat.DENSE)
                        .singletonOrThrow()));
        if (hidden != null) {
            hidden.add(h);
        }
        NDArray bias = attentionBias(mask, b, t, tk);
        for (int i = 0; i < blocks.size(); i++) {
            h = blocks.get(i).forward(h, bias, cache == null ? null : cache.layer(i), precision);
            if (hidden != null && i < blocks.size() - 1) {
                hidden.add(h);
            }
        }
        h = GptLayers.layerNorm(h, lnfWeight, lnfBias, config.layerNormEpsilon());
        if (hidden != null) {
            hidden.add(h);
        }
        return h;
    }

    /** Causal + padding bias [B, 1, T, Tk]: query i (absolute position Tk−T+i) sees real keys j ≤ Tk−T+i. */
    private static NDArray attentionBias(NDArray mask, long b, long t, long tk) {
        NDManager m = mask.getManager();
        // scalars from Scalars (torch.full), not sub(Number)/muli(Number): DJL wraps a Number in a tensor over a new
        // direct buffer, which a generation step would pay per token
        NDArray keys = mask.toType(DataType.FLOAT32, false);
        NDArray keyBias = keys.sub(Scalars.of(keys, 1)).muli(Scalars.of(keys, -MASKED)).reshape(b, 1, 1, tk);
        if (t == 1) {
            // one new query (a cached generation step) sees every key: no host array, so no direct buffer per token
            return m.zeros(new Shape(1, 1, 1, tk)).add(keyBias);
        }
        float[] causal = new float[Math.toIntExact(t * tk)];
        long offset = tk - t;
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < tk; j++) {
                causal[(int) (i * tk + j)] = j <= offset + i ? 0f : MASKED;
            }
        }
        NDArray causalBias = m.create(causal, new Shape(1, 1, t, tk));
        return causalBias.add(keyBias);
    }

    /** Positions counted over real tokens only (cumsum(mask) − 1, at least 0): right for left and right padding. */
    public static NDArray positionsFromMask(NDArray mask, long newTokens) {
        NDArray sum = mask.toType(DataType.INT64, false).cumSum(1);
        NDArray pos = sum.sub(Scalars.of(sum, 1)).maximum(Scalars.of(sum, 0));
        long tk = mask.getShape().get(1);
        return newTokens == tk ? pos : pos.get(new NDIndex(":, {}:", tk - newTokens));
    }

    /** DJL entry point: inputs {@code (ids, mask)}, output {@code (final hidden states)}. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray ids = inputs.get(0);
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : ids.onesLike();
        return new NDList(forward(ids, mask, positionsFromMask(mask, ids.getShape().get(1)), null, null));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), inputShapes[0].get(1), config.nEmbd())};
    }
}
