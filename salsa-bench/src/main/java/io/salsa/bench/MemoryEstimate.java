package io.salsa.bench;

import io.salsa.model.lm.llama.LlamaConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The memory a Llama-family model needs to train here, computed from its config rather than measured: float32
 * weights, gradients and AdamW's two moments for what is trained (everything, or a LoRA adapter + the value head),
 * the soup reference (a second float32 copy), and an estimate of the activations autograd keeps for one
 * forward/backward of {@code batch × seqLen} tokens. Every number is bytes; the arithmetic is the point, so it is
 * pure and tested against the parameter counts of really allocated models.
 *
 * <p>The activation estimate counts, per layer and token, the float32 tensors an eager forward keeps for its
 * backward: the residual stream and both RMSNorm inputs and outputs (4·H), q, k, v and their rotated copies
 * (2·(Hq + 2·Hkv) with Hq = heads·head_dim, Hkv = kv_heads·head_dim), K and V repeated to every query head (2·Hq),
 * the attention scores and their softmax (2·heads·T), the attention output (Hq), and the gated MLP's gate, up,
 * activation and product (4·I); plus, per token, the logits, their log-softmax and its gradient (3·V). It leaves out
 * allocator slack and short-lived temporaries, so a measured peak lies above it.
 */
record MemoryEstimate(long parameters, long trainable, long weights, long gradients, long adamMoments,
                      long reference, long activations) {

    /** Bytes per element: everything here is float32. */
    static final int FLOAT = 4;

    /** The training footprint: policy weights, gradients, moments, reference, activations. */
    long total() {
        return weights + gradients + adamMoments + reference + activations;
    }

    /** Rows of name → bytes, in print order. */
    Map<String, Long> rows() {
        Map<String, Long> rows = new LinkedHashMap<>();
        rows.put("weights (policy, float32)", weights);
        rows.put("gradients", gradients);
        rows.put("AdamW moments (m, v)", adamMoments);
        rows.put("soup reference (float32)", reference);
        rows.put("activations (estimate)", activations);
        rows.put("total (PPO step)", total());
        rows.put("total without reference (SFT step)", total() - reference);
        return rows;
    }

    /** The modules {@code --lora} adapts by default: PEFT's default for Llama-family models. */
    static final List<String> DEFAULT_LORA_TARGETS = List.of("q_proj", "v_proj");

    /**
     * The estimate for {@code config} with a value head (the PPO policy), training everything ({@code loraRank} 0) or
     * a LoRA adapter of rank {@code loraRank} on {@code loraTargets} plus the value head, for {@code batch}
     * sequences of {@code seqLen} tokens.
     */
    static MemoryEstimate of(LlamaConfig config, int loraRank, List<String> loraTargets, int batch, int seqLen) {
        long h = config.hiddenSize();
        long base = baseParameters(config);
        long valueHead = h + 1;
        long adapter = loraRank > 0 ? loraParameters(config, loraRank, loraTargets) : 0;
        long parameters = base + valueHead + adapter;
        long trainable = loraRank > 0 ? adapter + valueHead : parameters;
        long tokens = (long) batch * seqLen;
        return new MemoryEstimate(parameters, trainable, parameters * FLOAT, trainable * FLOAT, 2 * trainable * FLOAT,
                base * FLOAT, tokens * activationFloatsPerToken(config, seqLen) * FLOAT);
    }

    /** The parameters of the plain LM (no head), tensor by tensor as {@code LlamaModel} allocates them. */
    static long baseParameters(LlamaConfig c) {
        long h = c.hiddenSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        long inner = c.intermediateSize();
        long layer = h * q + 2 * h * kv + q * h + 3 * h * inner + 2 * h;
        if (c.qkvBias()) {
            layer += q + 2 * kv;
        }
        if (c.outputBias()) {
            layer += h;
        }
        if (c.mlpBias()) {
            layer += 2 * inner + h;
        }
        long embeddings = (long) c.vocabSize() * h;
        return embeddings + c.numLayers() * layer + h + (c.tieWordEmbeddings() ? 0 : embeddings);
    }

    /** A LoRA adapter's parameters: r·(in + out) per adapted matrix and layer; an unknown target is refused. */
    static long loraParameters(LlamaConfig c, int r, List<String> targets) {
        long h = c.hiddenSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        long inner = c.intermediateSize();
        Map<String, long[]> shapes = new LinkedHashMap<>(); // module → {in, out}
        shapes.put("q_proj", new long[] {h, q});
        shapes.put("k_proj", new long[] {h, kv});
        shapes.put("v_proj", new long[] {h, kv});
        shapes.put("o_proj", new long[] {q, h});
        shapes.put("gate_proj", new long[] {h, inner});
        shapes.put("up_proj", new long[] {h, inner});
        shapes.put("down_proj", new long[] {inner, h});
        long perLayer = 0;
        for (String t : targets) {
            long[] s = shapes.get(t);
            if (s == null) {
                throw new IllegalArgumentException("--lora-targets: unknown module " + t + " (known: "
                        + String.join(", ", new ArrayList<>(shapes.keySet())) + ")");
            }
            perLayer += (long) r * (s[0] + s[1]);
        }
        return c.numLayers() * perLayer;
    }

    /** Float32 values autograd keeps per token of a {@code seqLen}-token sequence (see the class comment). */
    static long activationFloatsPerToken(LlamaConfig c, int seqLen) {
        long h = c.hiddenSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        long layer = 4 * h + 2 * (q + 2 * kv) + 2 * q + 2L * c.numHeads() * seqLen + q + 4L * c.intermediateSize();
        return c.numLayers() * layer + 3L * c.vocabSize();
    }
}
