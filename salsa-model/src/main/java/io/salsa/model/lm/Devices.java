package io.salsa.model.lm;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/** Turns the {@code --device} and {@code --threads} settings into DJL/PyTorch state, with clear errors. */
public final class Devices {

    private Devices() {
    }

    /** {@code cpu} → {@link Device#cpu()}, {@code gpu} → {@link Device#gpu()} when PyTorch sees one. */
    public static Device parse(String name) {
        String n = name == null ? "cpu" : name.trim().toLowerCase(java.util.Locale.ROOT);
        switch (n) {
            case "cpu":
                return Device.cpu();
            case "gpu":
            case "cuda":
                if (Engine.getInstance().getGpuCount() == 0) {
                    throw new IllegalArgumentException("--device gpu: PyTorch sees no GPU on this machine (use --device cpu)");
                }
                return Device.gpu();
            default:
                throw new IllegalArgumentException("--device must be cpu or gpu, got \"" + name + "\"");
        }
    }

    /**
     * Sets PyTorch's intra-op threads (≥ 1). On a machine shared by several processes one thread is usually
     * fastest for these small models: more threads spin against each other.
     */
    public static void setThreads(int threads) {
        if (threads < 1 || threads > 1024) {
            throw new IllegalArgumentException("--threads must be in [1, 1024], got " + threads);
        }
        Engine.getInstance(); // loads the native library first
        JniUtils.setNumThreads(threads);
    }

    /** PyTorch's intra-op threads now. */
    public static int threads() {
        Engine.getInstance();
        return JniUtils.getNumThreads();
    }
}
