package io.salsa.model.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class DoctorTest {

    @Test
    void shouldNameTheEngineItsNativeLibraryAndTimeEveryDeviceItChecks() {
        Doctor.Report r = Doctor.examine(null, Doctor.small(), Doctor.SMALL, 1, 16);
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
        Doctor.Forward f = cpu.forward();
        // tied embeddings 32000·512 + 4 layers × (q, o 512² + k, v 512·128 + SwiGLU 3·512·1376 + 2 norms) + final norm
        assertEquals(32000L * 512 + 4L * (2 * 512 * 512 + 2 * 512 * 128 + 3 * 512 * 1376 + 2 * 512) + 512,
                f.parameters());
        assertTrue(f.millis() > 0 && f.tokensPerSecond() > 0 && f.tokens() == 16, f.toString());
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
    }
}
