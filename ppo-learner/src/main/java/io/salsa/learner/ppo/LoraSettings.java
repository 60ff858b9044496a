package io.salsa.learner.ppo;

import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.lm.lora.LoraSpec;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * The learner's LoRA mode ({@code lora_r}, {@code lora_alpha}, {@code lora_dropout}, {@code lora_targets}): with
 * {@code lora_r} &gt; 0 the policy is the base (the soup) plus a trainable adapter on the named modules and the KL
 * reference is the same model with the adapter switched off; {@code lora_r = 0} trains full weights.
 *
 * @param r adapter rank, 0 = off
 * @param alpha {@code lora_alpha}; the delta is scaled by alpha / r
 * @param dropout {@code lora_dropout} in [0, 1): dropout on the adapter's input in the training forward passes only
 *     (never in the step's first, gradient-free pass, the reference pass, evaluation or generation); its masks are
 *     drawn from the step's seed ({@code LoraAdapter.seedDropout}), so replay stays bit-exact
 * @param targets module names as PEFT spells them ({@code c_attn}, {@code q_proj}, …), sorted
 */
public record LoraSettings(int r, double alpha, double dropout, List<String> targets) {

    public LoraSettings {
        if (r < 0) {
            throw new IllegalArgumentException("lora_r must be >= 0 (0 = full weights, > 0 = the LoRA rank; got " + r + ")");
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("lora_alpha must be a finite number > 0 (got " + alpha + ")");
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("lora_dropout must be in [0, 1) (got " + dropout + ")");
        }
        targets = List.copyOf(new TreeSet<>(targets == null ? List.of() : targets));
        if (r > 0 && targets.isEmpty()) {
            throw new IllegalArgumentException("lora_targets must name at least one module when lora_r > 0 "
                    + "(e.g. c_attn for GPT-2, q_proj,v_proj for the Llama family)");
        }
    }

    /** Full-weights training (the default). */
    public static LoraSettings off() {
        return new LoraSettings(0, 16, 0, List.of());
    }

    public boolean enabled() {
        return r > 0;
    }

    /** {@code lora_targets} as written: comma-separated names. */
    public String targetsSetting() {
        return String.join(",", targets);
    }

    /**
     * The learner's settings from a {@code --lora} spec as the training commands take it
     * ({@code r=16,alpha=32,targets=q_proj,v_proj[,dropout=0.05]}, {@link LoraSpec}).
     *
     * @throws IllegalArgumentException what {@link LoraSpec} refuses, or {@code rslora}, which the learner does not have
     */
    public static LoraSettings fromSpec(String spec) {
        LoraConfig c = LoraSpec.parse(spec);
        if (c.useRslora()) {
            throw new IllegalArgumentException("--lora: rslora is not a learner setting; leave it out");
        }
        return new LoraSettings(c.r(), c.alpha(), c.dropout(), c.targetModules());
    }

    /** Parses {@code lora_targets}: comma-separated module names, empty = none. */
    public static List<String> parseTargets(String raw) {
        return Arrays.stream(raw.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }
}
