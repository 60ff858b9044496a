package io.salsa.model.soup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.model.safetensors.Checkpoint;
import io.salsa.model.safetensors.CheckpointWriter;
import io.salsa.model.safetensors.DType;
import io.salsa.model.safetensors.Halfs;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.safetensors.TensorInfo;
import io.salsa.runtime.blob.Sha256;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The soup's streaming path (bulk widening, narrowing on the averaging thread, hashing and writing on others) gives
 * the very bytes of a plain element-by-element reference: every member value decoded with {@link Halfs}' scalar
 * conversions, {@code s = w1·x1; s += wk·xk} in float32, rounded once with the scalar narrowing, laid out after the
 * soup's own header; and the card's hashes are those of the files. Members hold every bit pattern (NaN payloads,
 * infinities, subnormals, signed zeros) next to ordinary values whose averages hit rounding ties.
 */
class SoupReferenceBytesTest {

    private static final Map<String, long[]> TENSORS = new LinkedHashMap<>();

    static {
        TENSORS.put("model.layers.0.mlp.up_proj.weight", new long[] {300, 500}); // more than one default chunk
        TENSORS.put("model.embed_tokens.weight", new long[] {77, 64});
        TENSORS.put("model.layers.0.self_attn.q_proj.bias", new long[] {64});
        TENSORS.put("model.norm.weight", new long[] {3});
    }

    @TempDir
    Path dir;

    @Test
    void aWeightedBf16SoupShouldEqualTheReferenceBytes() throws IOException {
        List<Path> members = List.of(member("a", DType.BF16, 1, 200_000), member("b", DType.BF16, 2, 200_000),
                member("c", DType.BF16, 3, 200_000));
        assertSameAsReference(members, new double[] {1, 2, 4}, SoupConfig.defaults(), DType.BF16);
        assertSameAsReference(members, new double[] {3, 1, 1}, new SoupConfig(1024, true, true), DType.BF16);
    }

    @Test
    void aUniformBf16SoupOfTwoShouldEqualTheReferenceBytes() throws IOException {
        List<Path> members = List.of(member("a", DType.BF16, 4, 100_000), member("b", DType.BF16, 5, Long.MAX_VALUE));
        assertSameAsReference(members, new double[] {1, 1}, SoupConfig.defaults(), DType.BF16);
    }

    @Test
    void anF16SoupShouldEqualTheReferenceBytes() throws IOException {
        List<Path> members = List.of(member("a", DType.F16, 6, Long.MAX_VALUE), member("b", DType.F16, 7, 150_000));
        assertSameAsReference(members, new double[] {1, 3}, SoupConfig.defaults(), DType.F16);
        assertSameAsReference(members, new double[] {1, 1}, new SoupConfig(1024, true, false), DType.F16);
    }

    @Test
    void anF32SoupShouldEqualTheReferenceBytes() throws IOException {
        List<Path> members = List.of(member("a", DType.F32, 8, 400_000), member("b", DType.F32, 9, Long.MAX_VALUE),
                member("c", DType.F32, 10, Long.MAX_VALUE));
        assertSameAsReference(members, new double[] {2, 5, 1}, SoupConfig.defaults(), DType.F32);
        assertSameAsReference(members.subList(0, 2), new double[] {1, 1}, new SoupConfig(1024, true, true), DType.F32);
    }

    @Test
    void membersOfMixedDtypesShouldEqualTheReferenceBytesInFloat32() throws IOException {
        List<Path> members = List.of(member("a", DType.BF16, 11, Long.MAX_VALUE), member("b", DType.F16, 12, 100_000),
                member("c", DType.F32, 13, Long.MAX_VALUE));
        assertSameAsReference(members, new double[] {1, 2, 3}, SoupConfig.defaults(), DType.F32);
    }

    @Test
    void aShardThatCannotBeCommittedShouldFailTheSoupLeavingNoPartialFile() throws IOException {
        Path a = member("a", DType.BF16, 14, 200_000);
        Path b = member("b", DType.BF16, 15, 200_000);
        int shards;
        try (Checkpoint c = Checkpoint.open(a)) {
            shards = c.files().size();
        }
        assertTrue(shards > 1, "the members are sharded");
        Path out = dir.resolve("failed");
        // a non-empty folder where the second shard goes: its commit (on the writer thread) cannot move it into place
        Path blocker = Files.createDirectories(out.resolve(String.format("model-%05d-of-%05d.safetensors", 2, shards)));
        Files.writeString(blocker.resolve("keep"), "x");
        org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                () -> Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(b)), out, SoupConfig.defaults()));
        try (var files = Files.list(out)) {
            List<String> left = files.map(f -> f.getFileName().toString()).sorted().toList();
            assertTrue(left.stream().noneMatch(f -> f.endsWith(".partial")), "no half-written file: " + left);
            assertTrue(!left.contains(Checkpoint.INDEX) && !left.contains(Soups.CARD_FILE), "no index, no card: " + left);
        }
    }

    private int soups;

    private void assertSameAsReference(List<Path> members, double[] weights, SoupConfig config, DType dtype)
            throws IOException {
        List<Soups.Member> list = new ArrayList<>();
        for (int k = 0; k < members.size(); k++) {
            list.add(new Soups.Member(members.get(k), weights[k]));
        }
        Path out = dir.resolve("soup-" + soups++);
        Soups.Result r = Soups.build(list, out, config);
        assertEquals(dtype, r.dtype());

        double sum = 0;
        for (double w : weights) {
            sum += w;
        }
        float[] w = new float[weights.length];
        for (int k = 0; k < w.length; k++) {
            w[k] = (float) (weights[k] / sum);
        }
        MessageDigest expectedSha = Sha256.digest();
        try (Checkpoint soup = Checkpoint.open(out)) {
            List<Checkpoint> readers = new ArrayList<>();
            try {
                for (Path m : members) {
                    readers.add(Checkpoint.open(m));
                }
                for (Path file : soup.files()) {
                    byte[] actual = Files.readAllBytes(file);
                    ByteArrayOutputStream expected = new ByteArrayOutputStream();
                    try (SafeTensors st = SafeTensors.open(file)) {
                        expected.write(actual, 0, (int) st.dataStart()); // the header is the writer's, tested elsewhere
                        List<TensorInfo> inFileOrder = new ArrayList<>(st.tensors().values());
                        inFileOrder.sort(Comparator.comparingLong(TensorInfo::begin));
                        for (TensorInfo t : inFileOrder) {
                            assertEquals(dtype, t.dtype(), t.name());
                            expected.write(reference(readers, w, t.name(), dtype));
                        }
                    }
                    byte[] bytes = expected.toByteArray();
                    assertEquals(bytes.length, actual.length, file.toString());
                    sameNaNs(bytes, actual, (int) headerBytes(file), dtype);
                    assertArrayEquals(bytes, actual, file + ": the soup's bytes differ from the reference");
                    expectedSha.update(Files.readAllBytes(file));
                }
                assertEquals(Sha256.hex(expectedSha.digest()), r.sha256(), "the card's soup hash is the files'");
                for (int k = 0; k < members.size(); k++) {
                    assertEquals(filesSha256(readers.get(k).files()), r.memberSha256().get(k), "member " + (k + 1));
                }
            } finally {
                for (Checkpoint c : readers) {
                    c.close();
                }
            }
        }
    }

    /** Σ w_k·x_k of one tensor, element by element in float32, stored as {@code dtype}: little-endian bytes. */
    private static byte[] reference(List<Checkpoint> readers, float[] w, String name, DType dtype) throws IOException {
        float[] acc = null;
        for (int k = 0; k < readers.size(); k++) {
            Checkpoint c = readers.get(k);
            TensorInfo t = c.info(name);
            int n = (int) t.numel();
            ByteBuffer raw = ByteBuffer.allocate(n * t.dtype().byteSize()).order(ByteOrder.LITTLE_ENDIAN);
            c.readRaw(name, 0, n, raw);
            if (acc == null) {
                acc = new float[n];
            }
            for (int i = 0; i < n; i++) {
                float x = switch (t.dtype()) {
                    case BF16 -> Halfs.bf16ToFloat(raw.getShort(i * 2));
                    case F16 -> Halfs.f16ToFloat(raw.getShort(i * 2));
                    case F32 -> raw.getFloat(i * 4);
                    default -> throw new AssertionError(t.dtype());
                };
                if (k == 0) {
                    acc[i] = w[0] * x;
                } else {
                    acc[i] += w[k] * x;
                }
            }
        }
        ByteBuffer out = ByteBuffer.allocate(acc.length * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : acc) {
            switch (dtype) {
                case BF16 -> out.putShort(Halfs.floatToBf16(v));
                case F16 -> out.putShort(Halfs.floatToF16(v));
                case F32 -> out.putInt(Float.floatToRawIntBits(v));
                default -> throw new AssertionError(dtype);
            }
        }
        return out.array();
    }

    /**
     * Where the reference holds a NaN, the soup must hold a NaN too, and then takes the reference's bits: which NaN
     * payload a float sum of NaNs carries is left open by Java (the JIT may swap an addition's operands), by x86 and
     * by PyTorch alike. Every other value must match bit for bit (checked by the caller).
     */
    private static void sameNaNs(byte[] expected, byte[] actual, int from, DType dtype) {
        ByteBuffer e = ByteBuffer.wrap(expected).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer a = ByteBuffer.wrap(actual).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = from; i < expected.length; i += dtype.byteSize()) {
            boolean referenceNaN = isNaN(e, i, dtype);
            if (referenceNaN) {
                assertTrue(isNaN(a, i, dtype), "byte " + i + ": the reference is NaN, the soup is not");
                System.arraycopy(expected, i, actual, i, dtype.byteSize());
            }
        }
    }

    private static boolean isNaN(ByteBuffer b, int at, DType dtype) {
        return switch (dtype) {
            case BF16 -> Float.isNaN(Halfs.bf16ToFloat(b.getShort(at)));
            case F16 -> Float.isNaN(Halfs.f16ToFloat(b.getShort(at)));
            default -> Float.isNaN(b.getFloat(at));
        };
    }

    private static long headerBytes(Path file) throws IOException {
        try (SafeTensors st = SafeTensors.open(file)) {
            return st.dataStart();
        }
    }

    private static String filesSha256(List<Path> files) throws IOException {
        MessageDigest md = Sha256.digest();
        for (Path f : files) {
            md.update(Files.readAllBytes(f));
        }
        return Sha256.hex(md.digest());
    }

    /**
     * A member whose tensors hold, in turns, an arbitrary bit pattern of {@code dtype} (NaN, infinity, subnormal,
     * zero included) and an ordinary value on a coarse grid (so that averages land on rounding ties).
     */
    private Path member(String name, DType dtype, long seed, long maxShardBytes) throws IOException {
        Path d = Files.createDirectories(dir.resolve(name));
        Files.writeString(d.resolve("config.json"), "{\"model_type\": \"gpt2\", \"n_layer\": 1, \"torch_dtype\": \""
                + SoupConfig.OutputDtype.torchName(dtype) + "\"}");
        Random rng = new Random(seed);
        CheckpointWriter.write(d, TENSORS, dtype, n -> {
            long[] shape = TENSORS.get(n);
            long numel = 1;
            for (long s : shape) {
                numel *= s;
            }
            float[] v = new float[(int) numel];
            for (int i = 0; i < v.length; i++) {
                if (i % 3 == 0) {
                    v[i] = switch (dtype) {
                        case BF16 -> Halfs.bf16ToFloat((short) rng.nextInt());
                        case F16 -> Halfs.f16ToFloat((short) rng.nextInt());
                        default -> Float.intBitsToFloat(rng.nextInt());
                    };
                } else {
                    v[i] = (rng.nextInt(512) - 256) / 64f * (i % 7 == 0 ? 0x1p-20f : 1f);
                }
            }
            return v;
        }, maxShardBytes);
        return d;
    }
}
