package io.salsa.model.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * One pre-LayerNorm GPT-2 transformer block ({@code transformer.h.i}) with Hugging Face's parameter names and
 * Conv1D layout, so its weights load from and save to a {@code transformers} checkpoint unchanged.
 */
public final class GptBlock extends AbstractBlock {

    private final GptConfig config;
    final Parameter ln1Weight;
    final Parameter ln1Bias;
    final Parameter attnWeight;
    final Parameter attnBias;
    final Parameter attnProjWeight;
    final Parameter attnProjBias;
    final Parameter ln2Weight;
    final Parameter ln2Bias;
    final Parameter fcWeight;
    final Parameter fcBias;
    final Parameter mlpProjWeight;
    final Parameter mlpProjBias;
    /** Adapters by the weight of the Conv1D they change (c_attn, attn.c_proj, c_fc, mlp.c_proj). */
    private final Map<Parameter, LinearAdapter> adapters = new IdentityHashMap<>();

    GptBlock(NDManager manager, GptConfig config, ai.djl.ndarray.types.DataType weightType) {
        this.config = config;
        long e = config.nEmbd();
        long inner = config.nInner();
        ln1Weight = addParameter(GptLayers.parameter(manager, "ln_1.weight", Parameter.Type.GAMMA, weightType, e));
        ln1Bias = addParameter(GptLayers.parameter(manager, "ln_1.bias", Parameter.Type.BETA, weightType, e));
        attnWeight = addParameter(GptLayers.parameter(manager, "attn.c_attn.weight", Parameter.Type.WEIGHT, weightType, e, 3 * e));
        attnBias = addParameter(GptLayers.parameter(manager, "attn.c_attn.bias", Parameter.Type.BIAS, weightType, 3 * e));
        attnProjWeight = addParameter(GptLayers.parameter(manager, "attn.c_proj.weight", Parameter.Type.WEIGHT, weightType, e, e));
        attnProjBias = addParameter(GptLayers.parameter(manager, "attn.c_proj.bias", Parameter.Type.BIAS, weightType, e));
        ln2Weight = addParameter(GptLayers.parameter(manager, "ln_2.weight", Parameter.Type.GAMMA, weightType, e));
        ln2Bias = addParameter(GptLayers.parameter(manager, "ln_2.bias", Parameter.Type.BETA, weightType, e));
        fcWeight = addParameter(GptLayers.parameter(manager, "mlp.c_fc.weight", Parameter.Type.WEIGHT, weightType, e, inner));
        fcBias = addParameter(GptLayers.parameter(manager, "mlp.c_fc.bias", Parameter.Type.BIAS, weightType, inner));
        mlpProjWeight = addParameter(GptLayers.parameter(manager, "mlp.c_proj.weight", Parameter.Type.WEIGHT, weightType, inner, e));
        mlpProjBias = addParameter(GptLayers.parameter(manager, "mlp.c_proj.bias", Parameter.Type.BIAS, weightType, e));
    }

    /**
     * The block's output for hidden states {@code h} [B, T, E].
     *
     * @param attentionBias additive bias [B, 1, T, Tk] (0 where a query may see a key, a large negative number
     *                      elsewhere), covering the cached keys first, then the new ones
     * @param cache         this layer's key/value cache, extended in place with the new keys and values; or null
     */
    public NDArray forward(NDArray h, NDArray attentionBias, KvCache.Layer cache) {
        return forward(h, attentionBias, cache, Precision.FP32);
    }

    /**
     * The block's output in {@code precision}. Under {@link Precision#FP16} the four projections and both attention
     * matmuls run in float16 (the cache then holds float16 keys and values); LayerNorm, the masked softmax and the
     * residual stream stay float32, as under {@code torch.autocast}. {@code h} and the result are float32.
     */
    public NDArray forward(NDArray h, NDArray attentionBias, KvCache.Layer cache, Precision precision) {
        Shape shape = h.getShape();
        long b = shape.get(0);
        long t = shape.get(1);
        long e = config.nEmbd();
        long nh = config.nHead();
        long hd = config.headDim();

        NDArray a = GptLayers.layerNorm(h, ln1Weight, ln1Bias, config.layerNormEpsilon());
        NDList qkv = project(a, attnWeight, attnBias, precision).split(3, 2);
        NDArray q = qkv.get(0).reshape(b, t, nh, hd).transpose(0, 2, 1, 3);
        NDArray k = qkv.get(1).reshape(b, t, nh, hd).transpose(0, 2, 1, 3);
        NDArray v = qkv.get(2).reshape(b, t, nh, hd).transpose(0, 2, 1, 3);
        if (cache != null) {
            k = cache.appendKeys(k);
            v = cache.appendValues(v);
        }
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(Scalars.of(q, 1.0 / Math.sqrt(hd)));
        // the −1e30 mask and the softmax need float32 (−1e30 is −inf in float16: a fully masked row would be NaN)
        NDArray weights = Autocast.toFloat32(scores).addi(attentionBias).softmax(-1);
        if (precision == Precision.FP16) {
            weights = Autocast.half(weights);
        }
        NDArray o = weights.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, e);
        // float32 + float16 promotes to float32: the residual stream keeps full precision
        h = h.add(project(o, attnProjWeight, attnProjBias, precision));

        NDArray m = GptLayers.layerNorm(h, ln2Weight, ln2Bias, config.layerNormEpsilon());
        m = GptLayers.geluNew(project(m, fcWeight, fcBias, precision));
        return h.add(project(m, mlpProjWeight, mlpProjBias, precision));
    }

    /** Attaches (or, with null, detaches) the adapter of the Conv1D whose weight is {@code weight}. */
    void setAdapter(Parameter weight, LinearAdapter adapter) {
        if (adapter == null) {
            adapters.remove(weight);
        } else {
            adapters.put(weight, adapter);
        }
    }

    /**
     * A Conv1D plus its adapter's delta when one is attached and active. Under {@link Precision#FP16} the delta is
     * computed from the float32 input with the float32 adapter weights and added in float16, so the block's dtypes
     * (and the cache's) are those without an adapter.
     */
    private NDArray project(NDArray x, Parameter weight, Parameter bias, Precision precision) {
        NDArray y = GptLayers.conv1d(x, weight, bias, precision);
        LinearAdapter adapter = adapters.get(weight);
        if (adapter == null || !adapter.active()) {
            return y;
        }
        if (precision == Precision.FP32) {
            return y.add(adapter.delta(x));
        }
        return y.add(Autocast.half(adapter.delta(Autocast.toFloat32(x))));
    }

    /** DJL entry point: inputs {@code (h, attentionBias)}, output {@code (h')}; no cache. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(inputs.get(0), inputs.get(1), null));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}
