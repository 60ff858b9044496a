package io.salsa.model.soup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.model.safetensors.F32Tensor;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.safetensors.SafeTensorsWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class SoupCommandTest {

    @TempDir
    Path dir;

    @Test
    void shouldAverageWeightedMembersFromTheCommandLine() throws IOException {
        Path a = member("a", 1, new float[] {0, 4});
        Path b = member("b", 1, new float[] {4, 0});
        Path out = dir.resolve("soup");
        String[] err = new String[1];
        int code = run(err, "--member", a.toString(), "--member", b + "=3", "--out", out.toString());
        assertEquals(0, code, err[0]);
        try (SafeTensors s = SafeTensors.open(out.resolve("model.safetensors"))) {
            float[] w = s.readFloats("w");
            assertEquals(3f, w[0]);
            assertEquals(1f, w[1]);
            assertEquals(io.salsa.model.safetensors.DType.F32, s.info("w").dtype(), "float32 members: a float32 soup");
        }
        Path half = dir.resolve("half");
        assertEquals(0, run(err, "--member", a.toString(), "--member", b.toString(), "--dtype", "float16", "--out",
                half.toString()), err[0]);
        try (SafeTensors s = SafeTensors.open(half.resolve("model.safetensors"))) {
            assertEquals(io.salsa.model.safetensors.DType.F16, s.info("w").dtype());
            assertEquals(2f, s.readFloats("w")[0]);
        }
        assertTrue(Files.readString(half.resolve("config.json")).contains("\"torch_dtype\" : \"float16\""),
                Files.readString(half.resolve("config.json")));
    }

    @Test
    void shouldRefuseAnUnknownDtypeWithExitCodeTwo() throws IOException {
        Path a = member("a", 1, new float[] {0, 4});
        String[] err = new String[1];
        assertEquals(2, run(err, "--member", a.toString(), "--member", a.toString(), "--dtype", "fp8", "--out",
                dir.resolve("s").toString()));
        assertTrue(err[0].contains("--dtype must be one of [auto, float32, bfloat16, float16], got 'fp8'"), err[0]);
        assertFalse(Files.exists(dir.resolve("s")));
    }

    @Test
    void shouldExplainMismatchesAndMissingFoldersWithExitCodeTwo() throws IOException {
        Path a = member("a", 1, new float[] {0, 4});
        Path b = member("b", 2, new float[] {4, 0});
        String[] err = new String[1];
        assertEquals(2, run(err, "--member", a.toString(), "--member", b.toString(), "--out", dir.resolve("s").toString()));
        assertTrue(err[0].contains("salsa soup: different architectures: member 2 (" + b + ") has config.json n_layer = 2"),
                err[0]);
        assertEquals(2, run(err, "--member", a.toString(), "--member", dir.resolve("missing").toString(), "--out",
                dir.resolve("s").toString()));
        assertTrue(err[0].contains("missing: soup member folder not found"), err[0]);
        assertEquals(2, run(err, "--member", a.toString(), "--out", dir.resolve("s").toString()));
        assertTrue(err[0].contains("at least 2 --member"), err[0]);
        Files.write(b.resolve("model.safetensors"), new byte[] {1, 2, 3});
        Files.writeString(b.resolve("config.json"), Files.readString(a.resolve("config.json")));
        assertEquals(2, run(err, "--member", a.toString(), "--member", b.toString(), "--out", dir.resolve("s").toString()));
        assertTrue(err[0].contains(b.resolve("model.safetensors") + ": not a safetensors file"), err[0]);
    }

    private int run(String[] err, String... args) {
        PrintStream original = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            return new CommandLine(new SoupCommand()).execute(args);
        } finally {
            System.setErr(original);
            err[0] = buf.toString(StandardCharsets.UTF_8);
        }
    }

    private Path member(String name, int nLayer, float[] w) throws IOException {
        Path d = Files.createDirectories(dir.resolve(name));
        Files.writeString(d.resolve("config.json"), "{\"model_type\": \"gpt2\", \"n_layer\": " + nLayer + "}");
        SafeTensorsWriter.write(d.resolve("model.safetensors"), Map.of("w", F32Tensor.of(w, 2)));
        return d;
    }
}
