package io.salsa.model.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;

/**
 * Keys and values of every layer for the tokens already seen, so that generating one more token costs one
 * position of work instead of re-running the whole prefix.
 *
 * <p>The arrays live in the manager given at construction (the generation's scope) and are replaced, not
 * grown in place, at each step; the previous ones are closed at once.
 */
public final class KvCache implements LmCache {

    private final NDManager manager;
    private final List<Layer> layers = new ArrayList<>();

    /** An empty cache for a model with {@code nLayer} blocks whose arrays live in {@code manager}. */
    public KvCache(NDManager manager, int nLayer) {
        this.manager = manager;
        for (int i = 0; i < nLayer; i++) {
            layers.add(new Layer());
        }
    }

    /** The cache of block {@code i}. */
    public Layer layer(int i) {
        return layers.get(i);
    }

    /** Number of positions cached (0 before the first forward). */
    @Override
    public long length() {
        NDArray k = layers.get(0).keys;
        return k == null ? 0 : k.getShape().get(2);
    }

    @Override
    public void close() {
        for (Layer layer : layers) {
            layer.close();
        }
    }

    /** One block's keys and values [B, heads, T, headDim]. */
    public final class Layer implements AutoCloseable {
        private NDArray keys;
        private NDArray values;

        NDArray appendKeys(NDArray k) {
            keys = append(keys, k);
            return keys;
        }

        NDArray appendValues(NDArray v) {
            values = append(values, v);
            return values;
        }

        private NDArray append(NDArray old, NDArray fresh) {
            NDArray next;
            if (old == null) {
                next = fresh.duplicate();
            } else {
                next = old.concat(fresh, 2);
                old.close();
            }
            next.attach(manager);
            return next;
        }

        @Override
        public void close() {
            if (keys != null) {
                keys.close();
                values.close();
                keys = null;
                values = null;
            }
        }
    }
}
