package io.salsa.model.lm;

import ai.djl.ndarray.types.DataType;
import java.util.Locale;

/**
 * The numeric precision of a model's forward pass, so a trainer can choose fp16 mixed precision (the fast path on
 * GPUs whose DJL JNI has no bfloat16) without a second model implementation. A trained model's weights stay float32
 * (masters) either way; a frozen model loaded at FP16 ({@link CausalLms#loadFrozen}) holds them in float16.
 */
public enum Precision {
    /** Everything in float32 (the default; bit-reproducible on CPU). */
    FP32("no"),
    /**
     * {@code torch.autocast(dtype=float16)} semantics: matmuls (attention projections, attention scores and
     * mixing, MLP, LM head, value/score head) run in float16 on float16 copies of the float32 weights; embeddings,
     * the residual stream, LayerNorm, the attention softmax and everything after the logits stay float32.
     */
    FP16("fp16");

    private final String label;

    Precision(String label) {
        this.label = label;
    }

    /** The setting value ({@code no} or {@code fp16}, as Hugging Face accelerate's {@code mixed_precision}). */
    public String label() {
        return label;
    }

    /** The dtype the matmuls (and a pre-allocated KV cache) compute in. */
    public DataType computeType() {
        return this == FP16 ? DataType.FLOAT16 : DataType.FLOAT32;
    }

    /**
     * The dtype a frozen (inference-only) model holds its weights in at this precision: float16 at FP16 (no master
     * weights are needed when nothing is trained), float32 at FP32.
     */
    public DataType weightTypeWhenFrozen() {
        return this == FP16 ? DataType.FLOAT16 : DataType.FLOAT32;
    }

    /** Parses {@code no} / {@code fp16} (also {@code fp32}); anything else is an error naming the accepted values. */
    public static Precision parse(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "no", "fp32" -> FP32;
            case "fp16" -> FP16;
            default -> throw new IllegalArgumentException("expected no or fp16 (got '" + value
                    + "'; bf16 is not available: DJL 0.36's PyTorch JNI has no bfloat16)");
        };
    }
}
