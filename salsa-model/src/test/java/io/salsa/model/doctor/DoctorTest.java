package io.salsa.model.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.lm.Precision;
import io.salsa.model.lm.llama.LlamaConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class DoctorTest {

    @Test
    void shouldNameTheEngineItsNativeLibraryAndTimeEveryDeviceItChecks() {
        Doctor.Report r = Doctor.examine(null, Doctor.small(), Doctor.SMALL, 1, 16, null);
        assertEquals("PyTorch", r.engine());
        assertEquals("2.7.1", r.engineVersion(), "the pinned pytorch-native-cpu");
        assertEquals("2.7.1", r.nativeLibrary().version(), r.nativeLibrary().toString());
        assertEquals("cpu", r.nativeLibrary().flavor(), r.nativeLibrary().toString());
        assertTrue(r.devices().contains(Device.cpu()), r.devices().toString());
        assertEquals(r.devices().size(), r.checks().size(), "every device PyTorch sees is checked");
        Doctor.DeviceCheck cpu = r.checks().get(0);
        assertNull(cpu.error());
        Doctor.Matmul m = cpu.matmuls().get(0);
        assertEquals(DataType.FLOAT32, m.type());
        assertTrue(m.millis() > 0 && m.gflops() > 0, m.toString());
        assertEquals(Doctor.defaultPrecisions(Device.cpu()), cpu.forwards().stream().map(Doctor.Forward::precision).toList(),
                "on a CPU the forward is timed in fp32 only by default");
        assertEquals(List.of(Precision.FP32, Precision.FP16), Doctor.defaultPrecisions(Device.gpu()),
                "on a GPU also in fp16, what generation and the reference use there");
        Doctor.Forward f = cpu.forwards().get(0);
        // tied embeddings 32000·512 + 4 layers × (q, o 512² + k, v 512·128 + SwiGLU 3·512·1376 + 2 norms) + final norm
        assertEquals(32000L * 512 + 4L * (2 * 512 * 512 + 2 * 512 * 128 + 3 * 512 * 1376 + 2 * 512) + 512,
                f.parameters());
        assertTrue(f.millis() > 0 && f.tokensPerSecond() > 0 && f.tokens() == 16, f.toString());
    }

    @Test
    void shouldTimeTheLlamaForwardInEachPrecisionAskedFor() throws Exception {
        LlamaConfig tiny = LlamaConfig.fromJson(new ObjectMapper().readTree("""
                {"model_type": "qwen2", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
                 "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "tie_word_embeddings": true, "vocab_size": 128,
                 "eos_token_id": 0, "hidden_act": "silu"}"""));
        List<Doctor.Forward> forwards = List.of(Doctor.forward(Device.cpu(), tiny, "tiny-qwen2", 2, 8, Precision.FP32),
                Doctor.forward(Device.cpu(), tiny, "tiny-qwen2", 2, 8, Precision.FP16));
        assertEquals(List.of(Precision.FP32, Precision.FP16), forwards.stream().map(Doctor.Forward::precision).toList());
        for (Doctor.Forward f : forwards) {
            assertEquals("tiny-qwen2", f.model());
            assertTrue(f.millis() > 0 && f.tokensPerSecond() > 0 && f.batch() == 2 && f.tokens() == 8, f.toString());
        }
        Doctor.Report r = new Doctor.Report(Map.of(), "PyTorch", "2.7.1", "0.36.0", new Doctor.NativeLibrary(null, null,
                null), 0, null, List.of(Device.cpu()), List.of(new Doctor.DeviceCheck(Device.cpu(), List.of(), forwards, null)));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DoctorCommand.print(r, new PrintStream(out, true, StandardCharsets.UTF_8));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("forward tiny-qwen2") && printed.contains(", fp32)")
                && printed.contains(", fp16 autocast)"), printed);
    }

    @Test
    void shouldReadVersionAndFlavourFromTheFolderDjlUnpackedTheLibraryTo(@TempDir Path dir) throws Exception {
        Path maps = dir.resolve("maps");
        Files.writeString(maps, """
                7f00-7f01 r-xp 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6
                7f02-7f03 r-xp 00000000 08:01 2 /home/u/.djl.ai/pytorch/2.5.1-cu124-linux-x86_64/libtorch_cuda.so
                7f04-7f05 r-xp 00000000 08:01 3 /home/u/.djl.ai/pytorch/2.5.1-cu124-linux-x86_64/libtorch.so
                """);
        Doctor.NativeLibrary lib = Doctor.nativeLibrary(maps);
        assertEquals("/home/u/.djl.ai/pytorch/2.5.1-cu124-linux-x86_64/libtorch.so", lib.path());
        assertEquals("2.5.1", lib.version());
        assertEquals("cu124", lib.flavor());
        Files.writeString(maps, "7f00-7f01 r-xp 00000000 08:01 1 /opt/libtorch/lib/libtorch.so\n");
        assertEquals(new Doctor.NativeLibrary("/opt/libtorch/lib/libtorch.so", null, null), Doctor.nativeLibrary(maps),
                "a local libtorch (PYTORCH_LIBRARY_PATH) names no flavour in its folder");
        assertEquals(new Doctor.NativeLibrary(null, null, null), Doctor.nativeLibrary(dir.resolve("absent")));
    }

    @Test
    void shouldFailWhenAGpuIsRequiredAndRefuseBadOptions() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            code = new CommandLine(new DoctorCommand()).execute("--device", "cpu", "--tokens", "8", "--require-gpu");
        } finally {
            System.setOut(old);
        }
        String printed = out.toString(StandardCharsets.UTF_8);
        assertEquals(1, code, printed);
        assertTrue(printed.contains("flavour") && printed.contains("device cpu()") && printed.contains("GFLOP/s")
                && printed.contains("FAIL: --require-gpu"), printed);
        assertEquals(2, new CommandLine(new DoctorCommand()).execute("--device", "tpu"));
        assertEquals(2, new CommandLine(new DoctorCommand()).execute("--model", "gpt-5"));
        assertEquals(2, new CommandLine(new DoctorCommand()).execute("--tokens", "0"));
        assertEquals(2, new CommandLine(new DoctorCommand()).execute("--precision", "bf16"));
    }
}
