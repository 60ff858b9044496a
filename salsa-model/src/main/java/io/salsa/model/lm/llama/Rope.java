package io.salsa.model.lm.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embeddings in Hugging Face's rotate-half layout (dim i rotates with dim i + D/2), with the
 * {@code linear} and Llama-3.1 {@code llama3} frequency scalings: the one place the positions enter the model.
 */
final class Rope {

    private final float[] inverseFrequencies;
    /**
     * The same values [1, 1, D/2] as a native array in the model's manager, made once: a host array turned into an
     * NDArray costs a direct buffer, and a generation step would otherwise make one per token.
     */
    private final NDArray nativeInverseFrequencies;

    /** @param manager the model's manager, which owns the native inverse frequencies for the model's life */
    Rope(NDManager manager, LlamaConfig config) {
        this.inverseFrequencies = inverseFrequencies(config);
        this.nativeInverseFrequencies = manager.create(inverseFrequencies, new Shape(1, 1, inverseFrequencies.length));
    }

    /** inv_freq[i] = θ^(−2i/D) for i &lt; D/2, then rescaled as {@code rope_scaling} says. */
    static float[] inverseFrequencies(LlamaConfig config) {
        int d = config.headDim();
        float[] inv = new float[d / 2];
        for (int i = 0; i < inv.length; i++) {
            float exponent = (float) (2 * i) / (float) d; // float32 as in torch's arange(0, D, 2).float() / D
            inv[i] = (float) (1.0 / (float) Math.pow(config.ropeTheta(), exponent));
        }
        LlamaConfig.RopeScaling s = config.ropeScaling();
        if (s == null) {
            return inv;
        }
        for (int i = 0; i < inv.length; i++) {
            inv[i] = switch (s.type()) {
                case "linear" -> (float) (inv[i] / s.factor());
                case "llama3" -> llama3(inv[i], s);
                default -> throw new IllegalStateException("rope_type " + s.type());
            };
        }
        return inv;
    }

    /**
     * Llama-3.1's rule: wavelengths shorter than old_ctx / high_freq_factor are kept, longer than old_ctx /
     * low_freq_factor divided by the factor, and the band between interpolated smoothly.
     */
    private static float llama3(float inv, LlamaConfig.RopeScaling s) {
        double oldCtx = s.originalMaxPositions();
        double wavelength = 2 * Math.PI / inv;
        double scaled = wavelength > oldCtx / s.lowFreqFactor() ? inv / s.factor() : inv;
        boolean medium = wavelength >= oldCtx / s.highFreqFactor() && wavelength <= oldCtx / s.lowFreqFactor();
        if (!medium) {
            return (float) scaled;
        }
        double smooth = (oldCtx / wavelength - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
        return (float) ((1 - smooth) * scaled / s.factor() + smooth * scaled);
    }

    /**
     * cos and sin [B, 1, T, D] for position ids [B, T] (int64), in the positions' manager; allocates no host memory
     * when the positions are on the model's device.
     */
    NDList cosSin(NDArray positionIds) {
        NDArray inv = nativeInverseFrequencies;
        if (!inv.getDevice().equals(positionIds.getDevice())) {
            // positions on another device than the model's manager: a copy there (not a path the services take)
            inv = positionIds.getManager().create(inverseFrequencies, new Shape(1, 1, inverseFrequencies.length));
        }
        NDArray freqs = positionIds.toType(DataType.FLOAT32, false).expandDims(-1).mul(inv);
        NDArray angles = NDArrays.concat(new NDList(freqs, freqs), -1).expandDims(1);
        return new NDList(angles.cos(), angles.sin());
    }

    /** x·cos + rotate_half(x)·sin for x [B, H, T, D], rotate_half([x1, x2]) = [−x2, x1]. */
    static NDArray apply(NDArray x, NDArray cos, NDArray sin) {
        NDList halves = x.split(2, 3);
        NDArray rotated = NDArrays.concat(new NDList(halves.get(1).neg(), halves.get(0)), 3);
        return x.mul(cos).add(rotated.mul(sin));
    }
}
