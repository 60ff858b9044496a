package io.salsa.model.doctor;

import ai.djl.Device;
import io.salsa.model.lm.Devices;
import io.salsa.model.lm.Precision;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.llama.LlamaShapes;
import io.salsa.runtime.cli.SalsaSubcommand;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code salsa doctor}: prints {@link Doctor}'s findings; exit 1 when a device failed or a GPU was required. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"What this machine gives salsa: the JVM, DJL and its PyTorch engine (version, CPU or CUDA "
                + "flavour, where the native library came from), the devices PyTorch sees, and per device a timed "
                + "matmul and forward pass. Run it on a GPU machine before starting the learner there.",
                "Exit 0: every device passed; 1: a device failed, or --require-gpu and PyTorch sees no GPU; "
                        + "2: bad options."})
public final class DoctorCommand implements Callable<Integer>, SalsaSubcommand {

    @Option(names = "--device", description = "Check only this device: cpu or gpu (default: every device PyTorch "
            + "sees).")
    String device;

    @Option(names = "--model", defaultValue = Doctor.SMALL, description = "Model of the forward pass, random "
            + "weights: ${DEFAULT-VALUE} (27 M parameters) or a named shape (qwen2.5-0.5b, llama-3.2-1b).")
    String model;

    @Option(names = "--tokens", defaultValue = "128", description = "Sequence length of the forward pass "
            + "(default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--precision", split = ",", paramLabel = "no|fp16", description = "Precisions of the forward "
            + "pass, comma-separated (default: no (fp32) on every device, and fp16 too on a GPU; fp16 on a CPU is "
            + "slow: no native fp16 GEMM).")
    List<String> precisions;

    @Option(names = "--require-gpu", description = "Fail (exit 1) when PyTorch sees no GPU.")
    boolean requireGpu;

    @Override
    public Integer call() {
        LlamaConfig config;
        List<Device> only;
        List<Precision> forwardPrecisions = null;
        try {
            if (tokens < 1 || tokens > 8192) {
                throw new IllegalArgumentException("--tokens must be in [1, 8192], got " + tokens);
            }
            config = model.equals(Doctor.SMALL) ? Doctor.small() : LlamaShapes.config(model);
            only = device == null ? null : List.of(Devices.parse(device));
            if (precisions != null) {
                forwardPrecisions = new ArrayList<>();
                for (String p : precisions) {
                    try {
                        forwardPrecisions.add(Precision.parse(p));
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("--precision: " + e.getMessage(), e);
                    }
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("salsa doctor: " + e.getMessage());
            return 2;
        }
        Doctor.Report report = Doctor.examine(only, config, model, 1, tokens, forwardPrecisions);
        print(report, System.out);
        boolean failed = report.checks().stream().anyMatch(c -> c.error() != null);
        if (requireGpu && report.gpuCount() == 0) {
            System.out.println("FAIL: --require-gpu, but PyTorch sees no GPU (see salsa-model/README.md, \"GPU\")");
            return 1;
        }
        System.out.println(failed ? "FAIL: a device check failed (above)" : "OK");
        return failed ? 1 : 0;
    }

    static void print(Doctor.Report r, PrintStream out) {
        out.println("environment");
        for (Map.Entry<String, String> e : r.environment().entrySet()) {
            out.printf(Locale.ROOT, "  %-28s %s%n", e.getKey(), e.getValue());
        }
        out.println("engine");
        out.printf(Locale.ROOT, "  %-28s %s%n", "DJL", r.djlVersion());
        out.printf(Locale.ROOT, "  %-28s %s %s%n", "engine", r.engine(), r.engineVersion());
        Doctor.NativeLibrary lib = r.nativeLibrary();
        out.printf(Locale.ROOT, "  %-28s %s%n", "native library", lib.path() == null ? "unknown" : lib.path());
        out.printf(Locale.ROOT, "  %-28s %s%n", "flavour", lib.flavor() == null ? "unknown" : lib.flavor());
        out.printf(Locale.ROOT, "  %-28s %d%s%n", "GPUs", r.gpuCount(),
                r.cudaVersion() == null ? " (no CUDA runtime found)" : " (CUDA " + r.cudaVersion() + ")");
        out.printf(Locale.ROOT, "  %-28s %s%n", "devices", r.devices());
        for (Doctor.DeviceCheck c : r.checks()) {
            out.println("device " + c.device());
            for (Doctor.Matmul m : c.matmuls()) {
                out.printf(Locale.ROOT, "  matmul %dx%d %-8s %9.2f ms  %8.1f GFLOP/s%n", m.n(), m.n(),
                        m.type().toString().toLowerCase(Locale.ROOT), m.millis(), m.gflops());
            }
            for (Doctor.Forward f : c.forwards()) {
                out.printf(Locale.ROOT, "  forward %s (%.1f M parameters, %s) %dx%d tokens %9.2f ms  %8.0f tokens/s%n",
                        f.model(), f.parameters() / 1e6, f.precision() == Precision.FP32 ? "fp32" : "fp16 autocast",
                        f.batch(), f.tokens(), f.millis(), f.tokensPerSecond());
            }
            if (c.error() != null) {
                out.println("  FAILED: " + c.error());
            }
        }
    }
}
