package io.salsa.learner.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import java.util.List;

/**
 * What a PPO step needs from the model side, so the algorithm is independent of the network: a policy with a
 * value head whose forward records gradients when a collector is open, a gradient-free reference (the soup) and
 * the trainable parameters in a fixed order.
 */
public interface PpoModel {

    /**
     * Policy forward over right-padded token ids {@code [batch, length]} (int64): index 0 is the logits
     * {@code [batch, length, vocab]} and index 1 the value-head output {@code [batch, length]}.
     */
    NDList policy(NDArray inputIds);

    /**
     * The policy forward of a training pass (inside the step's gradient collector), as {@link #policy}; a model with
     * dropout applies it here and only here.
     */
    default NDList trainingPolicy(NDArray inputIds) {
        return policy(inputIds);
    }

    /** Reference (soup) logits {@code [batch, length, vocab]} for the same ids; never records gradients. */
    NDArray reference(NDArray inputIds);

    /** The trainable arrays (policy and value head), always in the same order; each has a gradient attached. */
    List<NDArray> parameters();
}
