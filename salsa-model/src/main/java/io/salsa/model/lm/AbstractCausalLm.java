package io.salsa.model.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import io.salsa.model.safetensors.Halfs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * What every {@link CausalLm} implementation shares: the manager that owns its weights on one device, step scopes,
 * switching gradient recording for all parameters, and the dtype the weights are held in (float32, or float16 for a
 * frozen fp16 model, with the conversions every in-place write and host read needs), so each architecture only adds
 * its blocks and maths.
 */
public abstract class AbstractCausalLm implements CausalLm {

    /** Owns the weights; per-step arrays belong in {@link #newScope()}. */
    protected final NDManager manager;
    private final DataType weightType;
    private boolean trainable;
    private java.util.List<Integer> generationEos = java.util.List.of();

    /** A model whose float32 weights live on {@code device} in a manager named {@code name}. */
    protected AbstractCausalLm(Device device, String name) {
        this(device, name, DataType.FLOAT32);
    }

    /**
     * A model whose weights, of {@code weightType} (float32, or float16 for an inference-only fp16 model), live on
     * {@code device} in a manager named {@code name}.
     */
    protected AbstractCausalLm(Device device, String name, DataType weightType) {
        if (weightType != DataType.FLOAT32 && weightType != DataType.FLOAT16) {
            throw new IllegalArgumentException("weights are held in float32 or float16, not " + weightType);
        }
        this.weightType = weightType;
        this.manager = NDManager.newBaseManager(device);
        this.manager.setName(name);
    }

    @Override
    public DataType weightType() {
        return weightType;
    }

    /**
     * Refuses a precision other than fp16 for a model holding float16 weights (its forward is fp16 autocast with the
     * weights as they are; a float32 forward would need float32 masters). Call first in {@code setPrecision}.
     */
    protected void checkPrecision(Precision precision) {
        java.util.Objects.requireNonNull(precision, "precision");
        if (weightType == DataType.FLOAT16 && precision != Precision.FP16) {
            throw new IllegalStateException("this " + modelType() + " model holds its weights in float16 (an "
                    + "inference-only fp16 model), so it runs in fp16 only, not " + precision
                    + ": load it with float32 weights for a float32 forward");
        }
    }

    /** A host copy of one tensor as float32 (float16 weights widened exactly). */
    @Override
    public float[] weights(String name) {
        Parameter p = parameters().get(name);
        if (p == null) {
            throw new IllegalArgumentException("unknown tensor " + name);
        }
        NDArray array = p.getArray();
        if (array.getDataType() == DataType.FLOAT32) {
            return array.toFloatArray();
        }
        try (NDArray wide = array.toType(DataType.FLOAT32, false)) {
            return wide.toFloatArray();
        }
    }

    /**
     * Overwrites one tensor in place from float32 values; a float16 weight receives them rounded to nearest even,
     * the same values PyTorch's cast (the per-forward fp16 path) gives.
     */
    @Override
    public void setWeights(String name, FloatBuffer values) {
        writeWeights(CausalLms.parameterFor(this, name, values.remaining()), values);
    }

    /**
     * Writes {@code values} (exactly the tensor's elements) into {@code p}'s array in place (the array keeps its
     * identity), converting to float16 when the model holds its weights so: rounded to nearest even in Java
     * ({@link Halfs#floatToF16}, IEEE binary16 as PyTorch's cast) into one direct buffer of the tensor's float16 size,
     * which DJL then gives the array as it does a float32 buffer, so no float32 copy of the tensor is made and no
     * buffer is left for the garbage collector.
     */
    protected void writeWeights(Parameter p, FloatBuffer values) {
        NDArray target = p.getArray();
        if (target.getDataType() == DataType.FLOAT32) {
            target.set(values);
            return;
        }
        int n = Math.toIntExact(target.size());
        ByteBuffer halves = ByteBuffer.allocateDirect(Math.multiplyExact(n, 2)).order(ByteOrder.nativeOrder());
        ShortBuffer out = halves.asShortBuffer();
        int from = values.position();
        for (int i = 0; i < n; i++) {
            out.put(i, Halfs.floatToF16(values.get(from + i)));
        }
        target.set(halves);
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

    /**
     * Turns gradient recording for every parameter on (policy, reward-model training) or off (reference). A model
     * holding float16 weights is inference-only: turning it on is refused (training keeps float32 masters).
     */
    @Override
    public void setTrainable(boolean trainable) {
        if (trainable && weightType == DataType.FLOAT16) {
            throw new IllegalStateException("this " + modelType() + " model holds its weights in float16 (inference "
                    + "only): load it with float32 weights to train it");
        }
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
