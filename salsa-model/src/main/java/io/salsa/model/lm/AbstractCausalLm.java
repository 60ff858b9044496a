package io.salsa.model.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;

/**
 * What every {@link CausalLm} implementation shares: the manager that owns its weights on one device, step scopes,
 * and switching gradient recording for all parameters, so each architecture only adds its blocks and maths.
 */
public abstract class AbstractCausalLm implements CausalLm {

    /** Owns the weights; per-step arrays belong in {@link #newScope()}. */
    protected final NDManager manager;
    private boolean trainable;

    /** A model whose weights live on {@code device} in a manager named {@code name}. */
    protected AbstractCausalLm(Device device, String name) {
        this.manager = NDManager.newBaseManager(device);
        this.manager.setName(name);
    }

    @Override
    public Device device() {
        return manager.getDevice();
    }

    /** The manager that owns the weights; per-step arrays belong in {@link #newScope()}, not here. */
    @Override
    public NDManager manager() {
        return manager;
    }

    /** A sub-manager for one step's arrays (inputs and everything computed from them); close it after the step. */
    @Override
    public NDManager newScope() {
        return manager.newSubManager();
    }

    /** Turns gradient recording for every parameter on (policy, reward-model training) or off (reference). */
    @Override
    public void setTrainable(boolean trainable) {
        for (Parameter p : parameters().values()) {
            p.getArray().setRequiresGradient(trainable);
        }
        this.trainable = trainable;
    }

    @Override
    public boolean isTrainable() {
        return trainable;
    }

    /** Frees the weights (and everything still in their manager). */
    @Override
    public void close() {
        manager.close();
    }
}
