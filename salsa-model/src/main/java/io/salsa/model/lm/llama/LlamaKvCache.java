package io.salsa.model.lm.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.salsa.model.lm.LmCache;

/**
 * Keys and values of every layer, allocated once at full capacity [B, nKV, capacity, D] so that a generation step
 * writes its new positions in place and reads a view of the filled prefix: no copy of the past per step (GPT-2's
 * {@code KvCache} concatenates instead). Keys are stored after RoPE and before the GQA repeat, in the model's
 * compute dtype (float16 under {@code Precision.FP16}: half the memory).
 */
public final class LlamaKvCache implements LmCache {

    private final NDArray[] keys;
    private final NDArray[] values;
    private final long batch;
    private final long capacity;
    private long length;

    LlamaKvCache(NDManager manager, LlamaConfig config, int batch, int capacity, DataType dtype) {
        if (batch < 1 || capacity < 1) {
            throw new IllegalArgumentException("a cache needs batch ≥ 1 and capacity ≥ 1, got " + batch + " and " + capacity);
        }
        this.batch = batch;
        this.capacity = capacity;
        Shape shape = new Shape(batch, config.numKvHeads(), capacity, config.headDim());
        keys = new NDArray[config.numLayers()];
        values = new NDArray[config.numLayers()];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = manager.zeros(shape, dtype);
            values[i] = manager.zeros(shape, dtype);
        }
    }

    @Override
    public long length() {
        return length;
    }

    /** Positions the cache can hold. */
    public long capacity() {
        return capacity;
    }

    /** Checks that {@code t} new positions of a [batch, …] input fit, before any layer writes. */
    void checkRoom(long b, long t, DataType dtype) {
        if (keys[0].getDataType() != dtype) {
            throw new IllegalStateException("cache holds " + keys[0].getDataType() + " keys but the model computes in "
                    + dtype + ": make the cache with newCache after setPrecision");
        }
        if (b != batch) {
            throw new IllegalArgumentException("cache made for batch " + batch + ", got a batch of " + b);
        }
        if (length + t > capacity) {
            throw new IllegalStateException("KV cache full: " + length + " cached + " + t + " new positions > capacity " + capacity);
        }
    }

    /**
     * Writes layer {@code layer}'s new keys and values [B, nKV, t, D] at positions [length, length + t) and returns
     * views of positions [0, length + t), owned by the caller's step scope.
     */
    NDList write(int layer, NDArray k, NDArray v) {
        long t = k.getShape().get(2);
        NDIndex fresh = new NDIndex(":, :, {}:{}, :", length, length + t);
        keys[layer].set(fresh, k);
        values[layer].set(fresh, v);
        NDIndex filled = new NDIndex(":, :, :{}, :", length + t);
        NDArray kView = keys[layer].get(filled);
        NDArray vView = values[layer].get(filled);
        kView.attach(k.getManager());
        vView.attach(k.getManager());
        return new NDList(kView, vView);
    }

    /** Records that every layer has written {@code t} more positions. */
    void advance(long t) {
        length += t;
    }

    @Override
    public void close() {
        for (int i = 0; i < keys.length; i++) {
            keys[i].close();
            values[i].close();
        }
    }
}
