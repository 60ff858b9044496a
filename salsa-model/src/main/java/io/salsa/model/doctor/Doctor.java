package io.salsa.model.doctor;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.util.cuda.CudaUtils;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.GptOutput;
import io.salsa.model.lm.Precision;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.llama.LlamaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The checks of {@code salsa doctor}, as data: the command prints them, tests read them. */
public final class Doctor {

    /** Where DJL's PyTorch native library was loaded from, and the version and flavour its folder names. */
    public record NativeLibrary(String path, String version, String flavor) {
    }

    /** A timed matmul of two n×n matrices: the best of the timed repetitions. */
    public record Matmul(int n, DataType type, double millis, double gflops) {
    }

    /** A timed forward pass of a causal LM in {@code precision} over {@code batch × tokens}: the best of the timed repetitions. */
    public record Forward(String model, Precision precision, long parameters, int batch, int tokens, double millis,
                          double tokensPerSecond) {
    }

    /** What one device did (a forward pass per precision checked), or why it failed. */
    public record DeviceCheck(Device device, List<Matmul> matmuls, List<Forward> forwards, String error) {
    }

    /** Everything the doctor found. */
    public record Report(Map<String, String> environment, String engine, String engineVersion, String djlVersion,
                         NativeLibrary nativeLibrary, int gpuCount, String cudaVersion, List<Device> devices,
                         List<DeviceCheck> checks) {
    }

    private static final Pattern LIB_FOLDER = Pattern.compile("(\\d+\\.\\d+\\.\\d+)(?:-\\d+)?-(cpu|cu\\d+|rocm[\\d.]*)"
            + "(?:-precxx11)?-");

    /** The default model of the forward-pass check: a Llama-3-style decoder small enough for any machine. */
    public static final String SMALL = "llama-small";

    private Doctor() {
    }

    /** {@value #SMALL}: 4 layers, width 512, 8 heads over 2 KV heads, SwiGLU, a 32,000-token vocabulary, tied (27 M). */
    public static LlamaConfig small() {
        try {
            return LlamaConfig.fromJson(new com.fasterxml.jackson.databind.ObjectMapper().readTree("""
                    {"model_type": "llama", "hidden_size": 512, "intermediate_size": 1376, "num_hidden_layers": 4,
                     "num_attention_heads": 8, "num_key_value_heads": 2, "max_position_embeddings": 2048,
                     "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": true,
                     "vocab_size": 32000, "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu"}"""));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * The precisions a device's forward pass is timed in by default: float32 everywhere, and fp16 (what generation and
     * the reference use there) on a GPU; fp16 on a CPU works but has no native GEMM there, so it is opt-in.
     */
    public static List<Precision> defaultPrecisions(Device device) {
        return device.isGpu() ? List.of(Precision.FP32, Precision.FP16) : List.of(Precision.FP32);
    }

    /**
     * Runs every check: environment, engine, native library, devices, and per device ({@code only} null = all
     * devices PyTorch sees) a matmul and a forward pass of {@code model} (random weights) over {@code batch ×
     * tokens} in each of {@code precisions} ({@code null}: {@link #defaultPrecisions}).
     */
    public static Report examine(List<Device> only, LlamaConfig model, String modelName, int batch, int tokens,
                                 List<Precision> precisions) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("java", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")");
        env.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        env.put("cpus", Integer.toString(Runtime.getRuntime().availableProcessors()));
        env.put("max heap", Runtime.getRuntime().maxMemory() / (1 << 20) + " MB");
        for (String name : List.of("ai.djl.offline", "ai.djl.pytorch.num_threads")) {
            env.put("-D" + name, String.valueOf(System.getProperty(name)));
        }
        for (String name : List.of("PYTORCH_LIBRARY_PATH", "PYTORCH_VERSION", "PYTORCH_FLAVOR", "DJL_CACHE_DIR",
                "CUDA_VISIBLE_DEVICES")) {
            env.put(name, String.valueOf(System.getenv(name)));
        }
        Engine engine = Engine.getEngine("PyTorch");
        int gpus = engine.getGpuCount();
        String cuda = CudaUtils.hasCuda() ? CudaUtils.getCudaVersionString() : null;
        List<Device> devices = List.of(engine.getDevices());
        List<DeviceCheck> checks = new ArrayList<>();
        for (Device d : only == null ? devices : only) {
            checks.add(check(d, model, modelName, batch, tokens, precisions == null ? defaultPrecisions(d) : precisions));
        }
        NativeLibrary lib = nativeLibrary(Path.of("/proc/self/maps"));
        if (lib.flavor() == null && System.getenv("PYTORCH_FLAVOR") != null) {
            // a local libtorch (PYTORCH_LIBRARY_PATH) names nothing in its folder: say what the user told DJL
            lib = new NativeLibrary(lib.path(), System.getenv("PYTORCH_VERSION"), System.getenv("PYTORCH_FLAVOR")
                    + " (from PYTORCH_FLAVOR)");
        }
        return new Report(env, engine.getEngineName(), engine.getVersion(), Engine.getDjlVersion(), lib, gpus, cuda,
                devices, checks);
    }

    private static DeviceCheck check(Device device, LlamaConfig model, String modelName, int batch, int tokens,
                                     List<Precision> precisions) {
        List<Matmul> matmuls = new ArrayList<>();
        List<Forward> forwards = new ArrayList<>();
        try {
            matmuls.add(matmul(device, 1024, DataType.FLOAT32));
            if (device.isGpu()) {
                matmuls.add(matmul(device, 4096, DataType.FLOAT16)); // what generation and the reference use there
            }
            for (Precision p : precisions) {
                forwards.add(forward(device, model, modelName, batch, tokens, p));
            }
            return new DeviceCheck(device, matmuls, forwards, null);
        } catch (RuntimeException | Error e) {
            return new DeviceCheck(device, matmuls, forwards, e.toString());
        }
    }

    /** n×n by n×n on {@code device}: 2 warm-up runs, then the best of 5, each forced to finish by a read-back. */
    static Matmul matmul(Device device, int n, DataType type) {
        try (NDManager m = NDManager.newBaseManager(device)) {
            NDArray a = m.randomUniform(-1, 1, new Shape(n, n)).toType(type, false);
            NDArray b = m.randomUniform(-1, 1, new Shape(n, n)).toType(type, false);
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 7; i++) {
                long t = System.nanoTime();
                try (NDArray c = a.matMul(b); NDArray s = c.sum()) {
                    s.toType(DataType.FLOAT32, false).getFloat(); // waits for the device
                }
                double ms = (System.nanoTime() - t) / 1e6;
                if (i >= 2) {
                    best = Math.min(best, ms);
                }
            }
            return new Matmul(n, type, best, 2.0 * n * n * n / (best / 1e3) / 1e9);
        }
    }

    /** One forward pass (float32 logits) of a randomly initialised model in {@code precision}: 1 warm-up, then the best of 3. */
    static Forward forward(Device device, LlamaConfig config, String name, int batch, int tokens, Precision precision) {
        try (LlamaModel lm = LlamaModel.random(config, GptModel.Head.NONE, 1, device)) {
            lm.setPrecision(precision);
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 4; i++) {
                try (NDManager step = lm.newScope()) {
                    NDArray ids = step.randomInteger(0, config.vocabSize(), new Shape(batch, tokens), DataType.INT64);
                    NDArray mask = step.ones(new Shape(batch, tokens), DataType.INT64);
                    long t = System.nanoTime();
                    GptOutput out = lm.run(ids, mask);
                    out.logits().get(":, -1, 0").toType(DataType.FLOAT32, false).toFloatArray(); // waits
                    double ms = (System.nanoTime() - t) / 1e6;
                    if (i >= 1) {
                        best = Math.min(best, ms);
                    }
                }
            }
            return new Forward(name, precision, lm.parameterCount(), batch, tokens, best, batch * tokens / (best / 1e3));
        }
    }

    /**
     * The PyTorch library this process mapped, from {@code maps} ({@code /proc/self/maps} on Linux): its path and
     * the version and flavour DJL's cache folder names ({@code ~/.djl.ai/pytorch/2.7.1-…-cpu-linux-x86_64});
     * null fields where unknown (another OS, a library outside DJL's cache).
     */
    static NativeLibrary nativeLibrary(Path maps) {
        String path = null;
        try {
            for (String line : Files.readAllLines(maps)) {
                int at = line.indexOf('/');
                if (at >= 0 && line.substring(at).matches(".*/libtorch(_cpu|_cuda)?\\.(so|dylib)(\\.\\S*)?")) {
                    path = line.substring(at).trim();
                    if (line.contains("libtorch.")) {
                        break;
                    }
                }
            }
        } catch (IOException e) {
            return new NativeLibrary(null, null, null);
        }
        if (path == null) {
            return new NativeLibrary(null, null, null);
        }
        Matcher m = LIB_FOLDER.matcher(Path.of(path).getParent().getFileName().toString() + "-");
        return m.find() ? new NativeLibrary(path, m.group(1), m.group(2)) : new NativeLibrary(path, null, null);
    }
}
