package io.salsa.model.soup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.safetensors.Checkpoint;
import io.salsa.model.safetensors.CheckpointWriter;
import io.salsa.model.safetensors.DType;
import io.salsa.model.safetensors.Halfs;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.runtime.blob.Sha256;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The soup's storage dtype (the members' shared one, rounded once from the float32 average), its layout (sharded like
 * the first member, as transformers reads it) and the hashes taken while reading and writing.
 */
class SoupDtypesTest {

    /** Small chunks so that tensors span several chunks. */
    private static final SoupConfig SMALL_CHUNKS = new SoupConfig(1024, true, true);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** name → shape, in a non-alphabetical order so the shard plan and the file order differ. */
    private static final Map<String, long[]> TENSORS = new LinkedHashMap<>();

    static {
        TENSORS.put("model.layers.1.mlp.up_proj.weight", new long[] {9, 500});
        TENSORS.put("model.embed_tokens.weight", new long[] {30, 70});
        TENSORS.put("model.layers.0.mlp.up_proj.weight", new long[] {9, 500});
        TENSORS.put("model.norm.weight", new long[] {70});
    }

    @TempDir
    Path dir;

    @Test
    void aBf16SoupShouldBeTheFloat32AverageRoundedToBf16BitForBit() throws IOException {
        Path a = member("a", DType.BF16, 1, Long.MAX_VALUE);
        Path b = member("b", DType.BF16, 2, Long.MAX_VALUE);
        Path out = dir.resolve("soup");
        Soups.Result r = Soups.build(List.of(new Soups.Member(a, 1), new Soups.Member(b, 3)), out, SMALL_CHUNKS);
        assertEquals(DType.BF16, r.dtype());
        assertRoundedAverage(List.of(a, b), new float[] {0.25f, 0.75f}, out, DType.BF16);
        assertEquals("bfloat16", config(out).get("torch_dtype").asText());
        assertEquals("BF16", JSON.readTree(out.resolve("card.json").toFile()).get("dtype").asText());
    }

    @Test
    void anF16SoupShouldBeTheFloat32AverageRoundedToF16BitForBit() throws IOException {
        Path a = member("a", DType.F16, 1, Long.MAX_VALUE);
        Path b = member("b", DType.F16, 2, Long.MAX_VALUE);
        Path c = member("c", DType.F16, 3, Long.MAX_VALUE);
        Path out = dir.resolve("soup");
        Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(b), Soups.Member.of(c)), out, SMALL_CHUNKS);
        float w = (float) (1.0 / 3);
        assertRoundedAverage(List.of(a, b, c), new float[] {w, w, w}, out, DType.F16);
        assertEquals("float16", config(out).get("torch_dtype").asText());
    }

    @Test
    void membersOfDifferentDtypesShouldGiveAFloat32SoupAndDtypeShouldOverrideAuto() throws IOException {
        Path a = member("a", DType.BF16, 1, Long.MAX_VALUE);
        Path b = member("b", DType.F32, 2, Long.MAX_VALUE);
        Path out = dir.resolve("soup");
        Soups.Result r = Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(b)), out, SMALL_CHUNKS);
        assertEquals(DType.F32, r.dtype());
        assertRoundedAverage(List.of(a, b), new float[] {0.5f, 0.5f}, out, DType.F32);
        assertEquals("float32", config(out).get("torch_dtype").asText(), "the first member said bfloat16");

        Path f32 = dir.resolve("asked-f32");
        Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(a)), f32,
                SMALL_CHUNKS.withDtype(SoupConfig.OutputDtype.FLOAT32));
        assertRoundedAverage(List.of(a, a), new float[] {0.5f, 0.5f}, f32, DType.F32);
        Path half = dir.resolve("asked-f16");
        Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(b)), half,
                SMALL_CHUNKS.withDtype(SoupConfig.OutputDtype.FLOAT16));
        assertRoundedAverage(List.of(a, b), new float[] {0.5f, 0.5f}, half, DType.F16);
        assertEquals("float16", config(half).get("torch_dtype").asText());
    }

    @Test
    void aSoupOfShardedMembersShouldBeShardedLikeTheFirstAsTransformersReadsIt() throws IOException {
        Path a = member("a", DType.BF16, 1, 10_000);
        Path b = member("b", DType.BF16, 2, 10_000);
        List<String> shards = shardNames(a);
        assertTrue(shards.size() >= 3, "several shards: " + shards);
        Path out = dir.resolve("soup");
        Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(b)), out, SMALL_CHUNKS);

        assertEquals(shards, shardNames(out), "model-0000i-of-0000n.safetensors, one per member shard");
        assertFalse(Files.exists(out.resolve("model.safetensors")));
        JsonNode index = JSON.readTree(out.resolve(Checkpoint.INDEX).toFile());
        JsonNode memberIndex = JSON.readTree(a.resolve(Checkpoint.INDEX).toFile());
        assertEquals(memberIndex.get("weight_map"), index.get("weight_map"), "every tensor in the same file as the member's");
        long dataBytes = 0;
        for (String shard : shards) {
            try (SafeTensors st = SafeTensors.open(out.resolve(shard))) {
                st.tensors().values().forEach(t -> assertEquals(DType.BF16, t.dtype(), t.name()));
                assertEquals(Map.of("format", "pt"), st.metadata());
                dataBytes += st.dataBytes();
            }
        }
        assertEquals(dataBytes, index.at("/metadata/total_size").asLong());
        assertRoundedAverage(List.of(a, b), new float[] {0.5f, 0.5f}, out, DType.BF16);
        assertEquals("bfloat16", config(out).get("torch_dtype").asText());
    }

    @Test
    void theCardsHashesShouldEqualASeparateSha256OfTheFilesWhateverTheLayouts() throws IOException {
        Path single = member("single", DType.BF16, 1, Long.MAX_VALUE);
        Path sharded = member("sharded", DType.BF16, 2, 10_000);
        Path other = member("other", DType.BF16, 3, 9_000); // another shard plan: read out of its file order
        for (List<Path> members : List.of(List.of(sharded, single, other), List.of(single, sharded))) {
            Path out = dir.resolve("soup-" + members.size());
            Soups.Result r = Soups.build(members.stream().map(Soups.Member::of).toList(), out, SMALL_CHUNKS);
            JsonNode card = JSON.readTree(out.resolve("card.json").toFile());
            for (int k = 0; k < members.size(); k++) {
                String expected = filesSha256(members.get(k));
                assertEquals(expected, r.memberSha256().get(k), members.get(k).toString());
                assertEquals(expected, card.at("/members/" + k + "/sha256").asText());
            }
            assertEquals(filesSha256(out), r.sha256(), "the soup's hash, taken while writing it");
            assertEquals(r.sha256(), card.get("sha256").asText());
        }
        assertEquals(Sha256.of(single.resolve("model.safetensors")), filesSha256(single));
    }

    @Test
    void aSequentialDigestShouldHashTheFilesWhateverOrderRangesAreOfferedIn() throws IOException {
        Path a = Files.write(dir.resolve("a.bin"), randomBytes(5000, 1));
        Path b = Files.write(dir.resolve("b.bin"), randomBytes(3000, 2));
        ByteArrayOutputStream both = new ByteArrayOutputStream();
        both.write(Files.readAllBytes(a));
        both.write(Files.readAllBytes(b));
        String expected = Sha256.of(both.toByteArray());
        List<long[]> ranges = new ArrayList<>(); // {file, from, to}
        for (int f = 0; f < 2; f++) {
            for (long from = 100; from < (f == 0 ? 5000 : 3000); from += 700) {
                ranges.add(new long[] {f, from, Math.min(from + 700, f == 0 ? 5000 : 3000)});
            }
        }
        for (int seed = 0; seed < 5; seed++) {
            List<long[]> order = new ArrayList<>(ranges);
            if (seed > 0) {
                Collections.shuffle(order, new Random(seed));
            }
            try (MemberReads.SequentialDigest d = new MemberReads.SequentialDigest(List.of(a, b))) {
                for (long[] r : order) {
                    Path file = r[0] == 0 ? a : b;
                    byte[] bytes = Files.readAllBytes(file);
                    d.update(file, r[1], ByteBuffer.wrap(bytes, (int) r[1], (int) (r[2] - r[1])).slice());
                }
                assertEquals(expected, d.finish(), "order " + seed);
                if (seed == 0) {
                    assertEquals(100 + 100, d.reread(), "in order: only the skipped heads are read again");
                }
            }
        }
    }

    // --- helpers -------------------------------------------------------------------------------------------------

    /** A member whose weights are random floats stored as {@code dtype} (rounded by the writer). */
    private Path member(String name, DType dtype, long seed, long maxShardBytes) throws IOException {
        Path d = Files.createDirectories(dir.resolve(name));
        String torch = SoupConfig.OutputDtype.torchName(dtype);
        Files.writeString(d.resolve("config.json"), "{\"model_type\": \"gpt2\", \"n_layer\": 2, \"torch_dtype\": \""
                + torch + "\"}");
        Random rng = new Random(seed);
        CheckpointWriter.write(d, TENSORS, dtype, n -> {
            float[] v = new float[(int) TENSORS.get(n).length == 1 ? (int) TENSORS.get(n)[0]
                    : (int) (TENSORS.get(n)[0] * TENSORS.get(n)[1])];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) rng.nextGaussian();
            }
            return v;
        }, maxShardBytes);
        return d;
    }

    /** Every tensor of {@code soup} holds, bit for bit, Σ w_k·x_k in float32 (member order) stored as {@code dtype}. */
    private static void assertRoundedAverage(List<Path> members, float[] w, Path soup, DType dtype) throws IOException {
        List<Checkpoint> readers = new ArrayList<>();
        try (Checkpoint s = Checkpoint.open(soup)) {
            for (Path m : members) {
                readers.add(Checkpoint.open(m));
            }
            assertEquals(TENSORS.keySet().stream().sorted().toList(), s.names().stream().sorted().toList());
            for (String name : TENSORS.keySet()) {
                float[] acc = null;
                for (int k = 0; k < members.size(); k++) {
                    float[] x = readers.get(k).readFloats(name);
                    if (acc == null) {
                        acc = new float[x.length];
                        for (int i = 0; i < x.length; i++) {
                            acc[i] = w[k] * x[i];
                        }
                    } else {
                        for (int i = 0; i < x.length; i++) {
                            acc[i] += w[k] * x[i];
                        }
                    }
                }
                assertEquals(dtype, s.info(name).dtype(), name);
                ByteBuffer raw = ByteBuffer.allocate(acc.length * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
                s.readRaw(name, 0, acc.length, raw);
                for (int i = 0; i < acc.length; i++) {
                    int expected = switch (dtype) {
                        case BF16 -> Halfs.floatToBf16(acc[i]);
                        case F16 -> Halfs.floatToF16(acc[i]);
                        default -> Float.floatToRawIntBits(acc[i]);
                    };
                    int actual = dtype == DType.F32 ? raw.getInt(i * 4) : raw.getShort(i * 2);
                    if (expected != actual) {
                        assertEquals(expected, actual, name + "[" + i + "]");
                    }
                }
                float[] widened = s.readFloats(name);
                assertEquals(acc.length, widened.length);
            }
        } finally {
            for (Checkpoint r : readers) {
                r.close();
            }
        }
    }

    /** sha256 of a folder's weight files concatenated in index order, computed from the files by other means. */
    private static String filesSha256(Path model) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        List<String> names = Files.exists(model.resolve(Checkpoint.INDEX)) ? shardNames(model) : List.of("model.safetensors");
        for (String n : names) {
            all.write(Files.readAllBytes(model.resolve(n)));
        }
        return Sha256.of(all.toByteArray());
    }

    private static List<String> shardNames(Path model) throws IOException {
        try (var files = Files.list(model)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.matches("model-\\d{5}-of-\\d{5}\\.safetensors")).sorted().toList();
        }
    }

    private static JsonNode config(Path model) throws IOException {
        return JSON.readTree(model.resolve("config.json").toFile());
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
