package io.salsa.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.model.GoldenFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {

    @TempDir
    Path dir;

    @Test
    void shouldReadGoldenTinyModelWrittenByHuggingFace() throws IOException {
        Path file = GoldenFiles.require("tiny/model.safetensors");
        try (SafeTensors st = SafeTensors.open(file)) {
            assertEquals(Map.of("format", "pt"), st.metadata());
            long params = st.tensors().values().stream().mapToLong(TensorInfo::numel).sum();
            assertEquals(37120, params, "summary.json n_params");
            TensorInfo wte = st.info("transformer.wte.weight");
            assertEquals(DType.F32, wte.dtype());
            assertArrayEquals(new long[] {300, 32}, wte.shape());
            assertArrayEquals(new long[] {32, 96}, st.info("transformer.h.0.attn.c_attn.weight").shape());
            float[] w = st.readFloats("transformer.wte.weight");
            // first values as Python's struct module decodes them from the same file
            assertEquals(0.02015906199812889f, w[0]);
            assertEquals(0.01757553592324257f, w[1]);
            assertEquals(0.11776784062385559f, w[2]);
            assertEquals(0.033135440200567245f, w[3]);
            FloatBuffer fb = st.readFloatBuffer("transformer.wte.weight");
            assertTrue(fb.isDirect());
            float[] viaBuffer = new float[fb.remaining()];
            fb.get(viaBuffer);
            assertArrayEquals(w, viaBuffer);
        }
    }

    @Test
    void shouldRewriteGoldenFileByteForByte() throws IOException {
        Path file = GoldenFiles.require("tiny/model.safetensors");
        Map<String, F32Tensor> all = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(file)) {
            for (TensorInfo t : st.tensors().values()) {
                all.put(t.name(), new F32Tensor(t.shape(), st.readFloats(t.name())));
            }
        }
        Path copy = dir.resolve("model.safetensors");
        SafeTensorsWriter.write(copy, all);
        assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(copy),
                "our writer must lay the file out exactly as HF safetensors does");
    }

    @Test
    void shouldRoundTripAndStreamInChunksInAnyTensorOrder() throws IOException {
        Path file = dir.resolve("m.safetensors");
        float[] a = new float[1_000_003];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) Math.sin(i);
        }
        float[] b = {1f, -2f, 3.5f};
        try (SafeTensorsWriter w = SafeTensorsWriter.create(file,
                List.of(new TensorSpec("z.big", new long[] {a.length}),
                        TensorSpec.of("a.small", 3)), Map.of("format", "pt", "note", "x"))) {
            w.write("z.big", 0, a, 0, 400_000);
            w.write("a.small", b);
            w.write("z.big", 400_000, a, 400_000, a.length - 400_000);
            w.commit();
        }
        try (SafeTensors st = SafeTensors.open(file)) {
            assertEquals(List.of("a.small", "z.big"), st.names());
            assertEquals(Map.of("format", "pt", "note", "x"), st.metadata());
            assertEquals(0L, st.info("a.small").begin(), "sorted by name, so a.small comes first");
            assertArrayEquals(a, st.readFloats("z.big"));
            assertArrayEquals(b, st.readFloats("a.small"));
            float[] part = new float[5];
            st.readFloats("z.big", 999_998, part, 0, 5);
            assertArrayEquals(java.util.Arrays.copyOfRange(a, 999_998, 1_000_003), part);
        }
    }

    @Test
    void shouldDeletePartialFileWhenNotCommitted() throws IOException {
        Path file = dir.resolve("m.safetensors");
        try (SafeTensorsWriter w = SafeTensorsWriter.create(file, List.of(TensorSpec.of("x", 4)), Map.of())) {
            w.write("x", 0, new float[] {1, 2}, 0, 2);
            IllegalStateException e = assertThrows(IllegalStateException.class, w::commit);
            assertTrue(e.getMessage().contains("'x' has 2 of 4"), e.getMessage());
        }
        assertFalse(Files.exists(file));
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "no partial file left behind");
        }
    }

    @Test
    void shouldConvertHalfAndBfloat16AndReadIntegers() throws IOException {
        short[] f16 = {0x3C00, (short) 0xC000, 0x7BFF, 0x0001, 0x7C00, (short) 0x8000, 0x3555};
        float[] f16Expected = {1f, -2f, 65504f, (float) Math.pow(2, -24), Float.POSITIVE_INFINITY, -0f, 0.33325195f};
        short[] bf16 = {0x3F80, (short) 0xC060, 0x0000};
        float[] bf16Expected = {1f, -3.5f, 0f};
        ByteBuffer data = ByteBuffer.allocate(14 + 6 + 16).order(ByteOrder.LITTLE_ENDIAN);
        for (short s : f16) {
            data.putShort(s);
        }
        for (short s : bf16) {
            data.putShort(s);
        }
        data.putLong(-7).putLong(1L << 40);
        Path file = raw("mixed.safetensors", "{\"h\":{\"dtype\":\"F16\",\"shape\":[7],\"data_offsets\":[0,14]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[14,20]},"
                + "\"ids\":{\"dtype\":\"I64\",\"shape\":[1,2],\"data_offsets\":[20,36]}}", data.array());
        try (SafeTensors st = SafeTensors.open(file)) {
            assertArrayEquals(f16Expected, st.readFloats("h"));
            assertArrayEquals(bf16Expected, st.readFloats("b"));
            assertArrayEquals(new long[] {-7, 1L << 40}, st.readLongs("ids"));
            assertTrue(st.metadata().isEmpty());
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> st.readFloats("ids"));
            assertTrue(e.getMessage().contains("'ids'"), e.getMessage());
        }
    }

    @Test
    void shouldConvertEveryHalfLikeFloatWidening() {
        // cross-check the bit-twiddling against a slow definition for all 65536 patterns
        for (int b = 0; b < 0x10000; b++) {
            final int bits = b;
            int exp = (bits >> 10) & 0x1f;
            int mant = bits & 0x3ff;
            double sign = (bits & 0x8000) != 0 ? -1 : 1;
            float actual = Halfs.f16ToFloat((short) bits);
            if (exp == 0x1f) {
                assertTrue(mant == 0 ? Float.isInfinite(actual) : Float.isNaN(actual), () -> Integer.toHexString(bits));
                continue;
            }
            double expected = exp == 0 ? sign * mant * Math.pow(2, -24) : sign * (1 + mant / 1024.0) * Math.pow(2, exp - 15);
            assertEquals((float) expected, actual, () -> Integer.toHexString(bits));
        }
    }

    @Test
    void shouldRefuseMalformedHeaders() throws IOException {
        assertRefused(raw("short.safetensors", null, new byte[3]), "fewer than the 8-byte");
        assertRefused(withLength("huge.safetensors", Long.MAX_VALUE, "{}"), "header length");
        assertRefused(withLength("overrun.safetensors", 1000, "{}"), "overruns the file");
        assertRefused(raw("notjson.safetensors", "{\"a\":", new byte[0]), "not valid JSON");
        assertRefused(raw("array.safetensors", "[1,2]", new byte[0]), "expected a JSON object");
        assertRefused(raw("dup.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "not valid JSON");
        assertRefused(raw("meta.safetensors", "{\"__metadata__\":{\"format\":1}}", new byte[0]), "__metadata__.format");
        assertRefused(raw("noshape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", new byte[4]),
                "tensor 'w'", "\"shape\"");
        assertRefused(raw("negshape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
                new byte[4]), "tensor 'w'", "non-negative");
        assertRefused(raw("offsets.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}",
                new byte[4]), "tensor 'w'", "end before");
    }

    @Test
    void shouldRefuseUnknownDtypeAndSizeMismatch() throws IOException {
        assertRefused(raw("dtype.safetensors", "{\"w\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                new byte[4]), "tensor 'w'", "unknown dtype \"F12\"");
        assertRefused(raw("size.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}",
                new byte[20]), "tensor 'w'", "needs 24 bytes", "cover 20");
    }

    @Test
    void shouldRefuseOverlapGapOverrunAndTrailingBytes() throws IOException {
        assertRefused(raw("overlap.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]),
                "tensor 'b'", "overlaps tensor 'a'");
        assertRefused(raw("gap.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", new byte[12]),
                "tensor 'b'", "gap of 4 bytes after tensor 'a'");
        assertRefused(raw("overrun2.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                new byte[8]), "tensor 'a'", "overruns the data section (8 bytes)");
        assertRefused(raw("trailing.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                new byte[8]), "4 bytes of data after the last tensor 'a'");
    }

    @Test
    void shouldNameMissingTensorAndFile() throws IOException {
        Path file = dir.resolve("m.safetensors");
        SafeTensorsWriter.write(file, Map.of("x", F32Tensor.of(new float[] {1}, 1)));
        try (SafeTensors st = SafeTensors.open(file)) {
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> st.readFloats("y"));
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("'y'"), e.getMessage());
        }
    }

    private void assertRefused(Path file, String... fragments) {
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(file).close());
        assertTrue(e.getMessage().startsWith(file.toString()), "message names the file: " + e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "expected '" + f + "' in: " + e.getMessage());
        }
    }

    private Path raw(String name, String header, byte[] data) throws IOException {
        Path file = dir.resolve(name);
        if (header == null) {
            Files.write(file, data);
            return file;
        }
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h).put(data);
        Files.write(file, buf.array());
        return file;
    }

    private Path withLength(String name, long length, String header) throws IOException {
        Path file = dir.resolve(name);
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(length).put(h);
        Files.write(file, buf.array());
        return file;
    }
}
