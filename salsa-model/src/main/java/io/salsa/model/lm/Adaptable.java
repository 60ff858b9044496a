package io.salsa.model.lm;

import java.util.Map;

/**
 * A {@link CausalLm} whose linear layers accept a {@link LinearAdapter}, named by the layer's weight
 * ({@code model.layers.0.self_attn.q_proj.weight}).
 */
public interface Adaptable extends CausalLm {

    /**
     * The weights an adapter may attach to, by name, with their layout: {@code true} when the weight is stored
     * [in, out] (GPT-2's Conv1D, PEFT's {@code fan_in_fan_out}), {@code false} for {@code nn.Linear}'s [out, in].
     */
    Map<String, Boolean> adaptableWeights();

    /** Attaches {@code adapter} to the linear layer whose weight is {@code weightName}; null detaches it. */
    void setLinearAdapter(String weightName, LinearAdapter adapter);
}
