package io.salsa.model.lm;

import ai.djl.ndarray.NDArray;

/**
 * An additive change to one linear layer's output, {@code y = base(x) + delta(x)} (LoRA's
 * {@code (alpha/r)·(dropout(x)·Aᵀ)·Bᵀ}); attached to a model by the name of the layer's weight through
 * {@link Adaptable#setLinearAdapter}. While {@link #active()} is false the layer computes exactly its base output.
 */
public interface LinearAdapter {

    /** Whether the delta is added on this forward pass. */
    boolean active();

    /** The delta for input {@code x} [..., in]: [..., out], created in {@code x}'s manager. */
    NDArray delta(NDArray x);
}
