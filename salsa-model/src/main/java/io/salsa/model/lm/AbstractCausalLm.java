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
    private java.util.List<Integer> generationEos = java.util.List.of();

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

    /**
     * The config's EOS ids followed by those {@code generation_config.json} adds (read by the loaders), without
     * repeats: generation stops on any of them.
     */
    @Override
    public java.util.List<Integer> eosTokenIds() {
        java.util.LinkedHashSet<Integer> ids = new java.util.LinkedHashSet<>(configEosTokenIds());
        ids.addAll(generationEos);
        return java.util.List.copyOf(ids);
    }

    /** The EOS ids {@code config.json} lists (the first is {@link #eosTokenId()}). */
    protected java.util.List<Integer> configEosTokenIds() {
        return java.util.List.of(eosTokenId());
    }

    /** Adds the stop ids of {@code folder}'s {@code generation_config.json}, if it has one (called by loaders). */
    protected void readGenerationConfig(java.nio.file.Path folder) throws java.io.IOException {
        generationEos = ModelFolder.generationEosIds(folder, vocabSize());
    }

    /** Frees the weights (and everything still in their manager). */
    @Override
    public void close() {
        manager.close();
    }
}
