package io.salsa.model.lm.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.salsa.model.lm.Autocast;
import io.salsa.model.lm.GptLayers;
import io.salsa.model.lm.LinearAdapter;
import io.salsa.model.lm.Precision;
import io.salsa.model.lm.Scalars;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * One Llama-family decoder layer ({@code model.layers.i}): RMSNorm, grouped-query attention with RoPE (optional
 * q/k/v/o biases, optional sliding window), RMSNorm, gated MLP (SwiGLU, Gemma's GeGLU), with Hugging Face's names
 * and {@code nn.Linear} layout ([out, in]), so checkpoints load and save unchanged.
 */
public final class LlamaLayer extends AbstractBlock {

    private final LlamaConfig config;
    private final int index;
    final Parameter inputNorm;
    final Parameter qWeight;
    final Parameter qBias;
    final Parameter kWeight;
    final Parameter kBias;
    final Parameter vWeight;
    final Parameter vBias;
    final Parameter oWeight;
    final Parameter oBias;
    final Parameter postNorm;
    final Parameter gateWeight;
    final Parameter gateBias;
    final Parameter upWeight;
    final Parameter upBias;
    final Parameter downWeight;
    final Parameter downBias;
    /** Adapters by the weight of the projection they change (q/k/v/o/gate/up/down). */
    private final Map<Parameter, LinearAdapter> adapters = new IdentityHashMap<>();
    /** float32, or float16 for a frozen fp16 model. */
    private final DataType weightType;

    LlamaLayer(NDManager manager, LlamaConfig config, int index, DataType weightType) {
        this.config = config;
        this.index = index;
        this.weightType = weightType;
        long e = config.hiddenSize();
        long q = (long) config.numHeads() * config.headDim();
        long kv = (long) config.numKvHeads() * config.headDim();
        long inner = config.intermediateSize();
        inputNorm = add(manager, "input_layernorm.weight", Parameter.Type.GAMMA, e);
        qWeight = add(manager, "self_attn.q_proj.weight", Parameter.Type.WEIGHT, q, e);
        qBias = config.qkvBias() ? add(manager, "self_attn.q_proj.bias", Parameter.Type.BIAS, q) : null;
        kWeight = add(manager, "self_attn.k_proj.weight", Parameter.Type.WEIGHT, kv, e);
        kBias = config.qkvBias() ? add(manager, "self_attn.k_proj.bias", Parameter.Type.BIAS, kv) : null;
        vWeight = add(manager, "self_attn.v_proj.weight", Parameter.Type.WEIGHT, kv, e);
        vBias = config.qkvBias() ? add(manager, "self_attn.v_proj.bias", Parameter.Type.BIAS, kv) : null;
        oWeight = add(manager, "self_attn.o_proj.weight", Parameter.Type.WEIGHT, e, q);
        oBias = config.outputBias() ? add(manager, "self_attn.o_proj.bias", Parameter.Type.BIAS, e) : null;
        postNorm = add(manager, "post_attention_layernorm.weight", Parameter.Type.GAMMA, e);
        gateWeight = add(manager, "mlp.gate_proj.weight", Parameter.Type.WEIGHT, inner, e);
        gateBias = config.mlpBias() ? add(manager, "mlp.gate_proj.bias", Parameter.Type.BIAS, inner) : null;
        upWeight = add(manager, "mlp.up_proj.weight", Parameter.Type.WEIGHT, inner, e);
        upBias = config.mlpBias() ? add(manager, "mlp.up_proj.bias", Parameter.Type.BIAS, inner) : null;
        downWeight = add(manager, "mlp.down_proj.weight", Parameter.Type.WEIGHT, e, inner);
        downBias = config.mlpBias() ? add(manager, "mlp.down_proj.bias", Parameter.Type.BIAS, e) : null;
    }

    private Parameter add(NDManager manager, String name, Parameter.Type type, long... shape) {
        return addParameter(GptLayers.parameter(manager, name, type, weightType, shape));
    }

    /**
     * The layer's output for hidden states {@code h} [B, T, E] in {@code precision}. Under {@link Precision#FP16}
     * the seven projections and both attention matmuls run in float16 on float16 copies of the weights (the
     * activation too, as under {@code torch.autocast}); RMSNorm, RoPE (applied to float32 copies of q and k), the
     * masked softmax and the residual stream stay float32, and the cache holds float16 keys and values. {@code h}
     * and the result are float32.
     *
     * @param bias  additive attention bias [B, 1, T, Tk] for this layer's window (0 visible, finfo(f32).min not)
     * @param cos   RoPE cosines [B, 1, T, D]
     * @param sin   RoPE sines [B, 1, T, D]
     * @param cache the model's cache (this layer's slot is written), or null
     */
    NDArray forward(NDArray h, NDArray bias, NDArray cos, NDArray sin, LlamaKvCache cache, Precision precision) {
        Shape shape = h.getShape();
        long b = shape.get(0);
        long t = shape.get(1);
        int nh = config.numHeads();
        int nkv = config.numKvHeads();
        int d = config.headDim();
        boolean half = precision == Precision.FP16;

        NDArray a = rmsNorm(h, inputNorm, config);
        NDArray q = proj(a, qWeight, qBias, precision).reshape(b, t, nh, d).transpose(0, 2, 1, 3);
        NDArray k = proj(a, kWeight, kBias, precision).reshape(b, t, nkv, d).transpose(0, 2, 1, 3);
        NDArray v = proj(a, vWeight, vBias, precision).reshape(b, t, nkv, d).transpose(0, 2, 1, 3);
        q = Rope.apply(Autocast.toFloat32(q), cos, sin);
        k = Rope.apply(Autocast.toFloat32(k), cos, sin);
        if (half) {
            q = Autocast.half(q);
            k = Autocast.half(k);
        }
        if (cache != null) {
            NDList kv = cache.write(index, k, v);
            k = kv.get(0);
            v = kv.get(1);
        }
        k = repeatKv(k, config.groupSize());
        v = repeatKv(v, config.groupSize());
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(Scalars.of(q, 1.0 / Math.sqrt(d)));
        // the finfo(f32).min bias and the softmax need float32 (the bias is −inf in float16)
        NDArray weights = Autocast.toFloat32(scores).add(bias).softmax(-1);
        if (half) {
            weights = Autocast.half(weights);
        }
        NDArray o = weights.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, (long) nh * d);
        // float32 + float16 promotes to float32: the residual stream keeps full precision
        h = h.add(proj(o, oWeight, oBias, precision));

        NDArray m = rmsNorm(h, postNorm, config);
        NDArray gate = proj(m, gateWeight, gateBias, precision);
        NDArray act = config.gemma() ? GptLayers.geluNew(gate) : gate.mul(Activation.sigmoid(gate));
        return h.add(proj(act.mul(proj(m, upWeight, upBias, precision)), downWeight, downBias, precision));
    }

    /** Attaches (or, with null, detaches) the adapter of the projection whose weight is {@code weight}. */
    void setAdapter(Parameter weight, LinearAdapter adapter) {
        if (adapter == null) {
            adapters.remove(weight);
        } else {
            adapters.put(weight, adapter);
        }
    }

    /**
     * A projection: {@link #linear} in {@code precision} plus its adapter's delta when one is attached and active.
     * Under {@link Precision#FP16} the delta is computed from the float32 input with the float32 adapter weights and
     * added in float16 (as GPT-2's blocks do), so the layer's dtypes are those without an adapter.
     */
    private NDArray proj(NDArray x, Parameter weight, Parameter bias, Precision precision) {
        NDArray y = linear(x, weight, bias, precision);
        LinearAdapter adapter = adapters.get(weight);
        if (adapter == null || !adapter.active()) {
            return y;
        }
        if (precision == Precision.FP32) {
            return y.add(adapter.delta(x));
        }
        return y.add(Autocast.half(adapter.delta(Autocast.toFloat32(x))));
    }

    /** {@code nn.Linear}: x·Wᵀ (+ b), W stored [out, in]; the result lives with {@code x}. */
    static NDArray linear(NDArray x, Parameter weight, Parameter bias) {
        return bias == null ? Linear.linear(x, weight.getArray()).singletonOrThrow()
                : Linear.linear(x, weight.getArray(), bias.getArray()).singletonOrThrow();
    }

    /**
     * {@code nn.Linear} in {@code precision}: under FP16 input, weight and bias are cast to float16 (the weight
     * copies in the step's manager, not the model's) and so is the result.
     */
    static NDArray linear(NDArray x, Parameter weight, Parameter bias, Precision precision) {
        if (precision == Precision.FP32) {
            return linear(x, weight, bias);
        }
        NDManager step = x.getManager();
        NDArray w = Autocast.half(weight.getArray(), step);
        return bias == null ? Linear.linear(Autocast.half(x), w).singletonOrThrow()
                : Linear.linear(Autocast.half(x), w, Autocast.half(bias.getArray(), step)).singletonOrThrow();
    }

    /** RMSNorm in float32: x / sqrt(mean(x²) + eps) · w, Gemma's · (1 + w). */
    static NDArray rmsNorm(NDArray x, Parameter weight, LlamaConfig config) {
        NDArray ms = x.mul(x).mean(new int[] {-1}, true);
        NDArray normed = x.div(ms.add(Scalars.of(x, config.rmsNormEps())).sqrt());
        // the scalar first, so the (1 + w) temporary lands in the step's scope, not the model's; a float16 weight
        // (frozen fp16 model) is widened exactly into the step's scope first
        NDArray w = Autocast.toFloat32(weight.getArray(), x.getManager());
        w = config.gemma() ? Scalars.of(x, 1.0).add(w) : w;
        return normed.mul(w);
    }

    /** [B, nKV, L, D] → [B, nKV·rep, L, D]: query head h uses kv head h / rep (each kv head repeated in place). */
    static NDArray repeatKv(NDArray x, int rep) {
        if (rep == 1) {
            return x;
        }
        Shape s = x.getShape();
        return x.expandDims(2).broadcast(new Shape(s.get(0), s.get(1), rep, s.get(2), s.get(3)))
                .reshape(s.get(0), s.get(1) * rep, s.get(2), s.get(3));
    }

    /** DJL entry point: inputs {@code (h, bias, cos, sin)}, output {@code (h')}; no cache. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(inputs.get(0), inputs.get(1), inputs.get(2), inputs.get(3), null, Precision.FP32));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}
