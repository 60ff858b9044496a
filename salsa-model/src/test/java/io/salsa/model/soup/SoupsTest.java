package io.salsa.model.soup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.safetensors.F32Tensor;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.safetensors.SafeTensorsWriter;
import io.salsa.runtime.blob.Sha256;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SoupsTest {

    /** Small chunks so that tensors span several chunks and the chunk loop is exercised. */
    private static final SoupConfig SMALL_CHUNKS = new SoupConfig(1024, true, true);

    @TempDir
    Path dir;

    @Test
    void shouldBeExactlyTheElementWiseMeanOfTwoMembers() throws IOException {
        Path a = member("a", 1, 2);
        Path b = member("b", 2, 2);
        Path out = dir.resolve("soup");
        Soups.Result r = Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(b)), out, SMALL_CHUNKS);
        assertEquals("uniform", r.method());
        try (SafeTensors sa = open(a); SafeTensors sb = open(b); SafeTensors s = open(out)) {
            assertEquals(sa.names(), s.names());
            for (String name : sa.names()) {
                float[] x = sa.readFloats(name);
                float[] y = sb.readFloats(name);
                float[] mean = new float[x.length];
                for (int i = 0; i < x.length; i++) {
                    mean[i] = (x[i] + y[i]) / 2f;
                }
                assertArrayEquals(mean, s.readFloats(name), name);
                assertArrayEquals(sa.info(name).shape(), s.info(name).shape());
            }
            assertEquals(Map.of("format", "pt"), s.metadata());
        }
        assertEquals(Files.readString(a.resolve("config.json")), Files.readString(out.resolve("config.json")));
        assertEquals(Files.readString(a.resolve("tokenizer.json")), Files.readString(out.resolve("tokenizer.json")));

        JsonNode card = new ObjectMapper().readTree(out.resolve("card.json").toFile());
        assertEquals("uniform", card.get("method").asText());
        assertEquals(2, card.get("members").size());
        assertEquals(a.toAbsolutePath().normalize().toString(), card.at("/members/0/path").asText());
        assertEquals(Sha256.of(a.resolve("model.safetensors")), card.at("/members/0/sha256").asText());
        assertEquals(Sha256.of(b.resolve("model.safetensors")), card.at("/members/1/sha256").asText());
        assertEquals(0.5, card.at("/weights/1").asDouble());
        assertEquals(Sha256.of(out.resolve("model.safetensors")), card.get("sha256").asText());
        assertEquals(r.bytesRead(), 2 * Files.size(a.resolve("model.safetensors")) - 2 * headerBytes(a));
    }

    @Test
    void shouldNormaliseWeightsAndFollowTheDocumentedArithmetic() throws IOException {
        Path a = member("a", 1, 2);
        Path b = member("b", 2, 2);
        Path c = member("c", 3, 2);
        Path out = dir.resolve("soup");
        Soups.Result r = Soups.build(List.of(new Soups.Member(a, 1), new Soups.Member(b, 2), new Soups.Member(c, 1)), out,
                SMALL_CHUNKS);
        assertEquals("weighted", r.method());
        assertEquals(List.of(0.25, 0.5, 0.25), r.members().stream().map(Soups.Member::weight).toList());
        try (SafeTensors sa = open(a); SafeTensors sb = open(b); SafeTensors sc = open(c); SafeTensors s = open(out)) {
            for (String name : sa.names()) {
                float[] x = sa.readFloats(name);
                float[] y = sb.readFloats(name);
                float[] z = sc.readFloats(name);
                float[] expected = new float[x.length];
                for (int i = 0; i < x.length; i++) {
                    float acc = 0.25f * x[i];
                    acc += 0.5f * y[i];
                    acc += 0.25f * z[i];
                    expected[i] = acc;
                }
                assertArrayEquals(expected, s.readFloats(name), name);
            }
        }
    }

    @Test
    void shouldKeepHalfPrecisionMembersInHalfPrecisionUnlessFloat32IsAsked() throws IOException {
        Path a = halfMember("a", new short[] {0x3C00, 0x4000});   // 1, 2
        Path b = halfMember("b", new short[] {0x4000, 0x4400});   // 2, 4
        Path out = dir.resolve("soup");
        Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(b)), out, SMALL_CHUNKS);
        try (SafeTensors s = open(out)) {
            assertArrayEquals(new float[] {1.5f, 3f}, s.readFloats("w"));
            assertEquals(io.salsa.model.safetensors.DType.F16, s.info("w").dtype());
        }
        Path f32 = dir.resolve("soup32");
        Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(b)), f32,
                SMALL_CHUNKS.withDtype(SoupConfig.OutputDtype.FLOAT32));
        try (SafeTensors s = open(f32)) {
            assertArrayEquals(new float[] {1.5f, 3f}, s.readFloats("w"));
            assertEquals(io.salsa.model.safetensors.DType.F32, s.info("w").dtype());
        }
    }

    @Test
    void shouldRefuseDifferentArchitecturesNamingTheField() throws IOException {
        Path a = member("a", 1, 2);
        Path b = member("b", 2, 3);
        SoupException e = assertThrows(SoupException.class,
                () -> Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(b)), dir.resolve("soup")));
        assertTrue(e.getMessage().contains("member 2 (" + b + ") has config.json n_layer = 3 but member 1 (" + a
                + ") has 2"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("soup").resolve("model.safetensors")));
    }

    @Test
    void shouldRefuseDifferentTensorNamesAndShapesNamingTheFirst() throws IOException {
        Path a = member("a", 1, 2);
        Path renamed = memberWith("renamed", 2, Map.of("transformer.wte.weight", rand(2, 7, 5),
                "transformer.h.0.mlp.c_fc.weight", rand(3, 5, 700), "transformer.zz.bias", rand(4, 3)));
        SoupException e = assertThrows(SoupException.class,
                () -> Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(renamed)), dir.resolve("s1")));
        assertTrue(e.getMessage().contains("member 2 (" + renamed + ") has no tensor 'transformer.ln_f.bias'"),
                e.getMessage());

        Path reshaped = memberWith("reshaped", 2, Map.of("transformer.wte.weight", rand(2, 5, 7),
                "transformer.h.0.mlp.c_fc.weight", rand(3, 5, 700), "transformer.ln_f.bias", rand(4, 3)));
        e = assertThrows(SoupException.class,
                () -> Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(reshaped)), dir.resolve("s2")));
        assertTrue(e.getMessage().contains("tensor 'transformer.wte.weight' is [5, 7] in member 2 (" + reshaped
                + ") but [7, 5] in member 1"), e.getMessage());

    }

    @Test
    void shouldRefuseMissingMembersBadWeightsAndWritingOverAMember() throws IOException {
        Path a = member("a", 1, 2);
        NoSuchFileException missing = assertThrows(NoSuchFileException.class,
                () -> Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(dir.resolve("nope"))), dir.resolve("s")));
        assertTrue(missing.getFile().endsWith("nope"));
        assertThrows(IllegalArgumentException.class, () -> new Soups.Member(a, 0));
        assertThrows(IllegalArgumentException.class, () -> Soups.Member.parse(a + "=-1"));
        assertThrows(IllegalArgumentException.class, () -> Soups.Member.parse(a + "=1e"));
        assertEquals(new Soups.Member(Path.of("x=y"), 1), Soups.Member.parse("x=y"));
        assertEquals(new Soups.Member(Path.of("m"), 0.25), Soups.Member.parse("m=0.25"));
        SoupException e = assertThrows(SoupException.class,
                () -> Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(a)), a));
        assertTrue(e.getMessage().contains("is also member"), e.getMessage());
    }

    @Test
    void greedySoupShouldAddOnlyCandidatesThatDoNotWorsenTheEvalLoss() throws IOException {
        // a real loss over the weights: squared distance to a target the candidates scatter around
        float[] target = new float[700 * 5];
        Path near1 = memberAround("near1", target, 0.1f, 11);
        Path near2 = memberAround("near2", target, 0.1f, 12);
        Path far = memberAround("far", target, 3.0f, 13);
        EvalLoss distance = modelDir -> {
            try (SafeTensors s = SafeTensors.open(modelDir.resolve("model.safetensors"))) {
                float[] w = s.readFloats("transformer.h.0.mlp.c_fc.weight");
                double sum = 0;
                for (int i = 0; i < w.length; i++) {
                    sum += (w[i] - target[i]) * (double) (w[i] - target[i]);
                }
                return sum / w.length;
            }
        };
        Path out = dir.resolve("greedy");
        GreedySoup.Result r = GreedySoup.build(List.of(far, near1, near2), out, distance, SMALL_CHUNKS);
        assertEquals(List.of(true, true, false), r.candidates().stream().map(GreedySoup.Candidate::accepted).toList());
        assertEquals(far, r.candidates().get(2).dir());
        assertEquals("greedy", r.soup().method());
        assertEquals(2, r.soup().members().size());
        assertTrue(r.evalLoss() < r.candidates().get(0).evalLoss(), "averaging two noisy copies halves the noise");
        assertEquals(r.evalLoss(), distance.evaluate(out), 1e-9);
        JsonNode card = new ObjectMapper().readTree(out.resolve("card.json").toFile());
        assertFalse(card.at("/candidates/2/accepted").asBoolean());
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith(".greedy-trial")), "trials deleted");
        }
    }

    // --- helpers -------------------------------------------------------------------------------------------------

    private Path member(String name, long seed, int nLayer) throws IOException {
        Map<String, F32Tensor> t = new LinkedHashMap<>();
        t.put("transformer.wte.weight", rand(seed, 7, 5));
        t.put("transformer.h.0.mlp.c_fc.weight", rand(seed + 100, 5, 700)); // 3500 elements: several 1024-chunks
        t.put("transformer.ln_f.bias", rand(seed + 200, 3));
        Path d = memberWith(name, nLayer, t);
        Files.writeString(d.resolve("tokenizer.json"), "{\"stand-in\": \"" + name + "\"}");
        return d;
    }

    private Path memberAround(String name, float[] center, float noise, long seed) throws IOException {
        Random rng = new Random(seed);
        float[] w = new float[center.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = center[i] + noise * (float) rng.nextGaussian();
        }
        Map<String, F32Tensor> t = new LinkedHashMap<>();
        t.put("transformer.h.0.mlp.c_fc.weight", F32Tensor.of(w, 5, 700));
        return memberWith(name, 2, t);
    }

    private Path memberWith(String name, int nLayer, Map<String, F32Tensor> tensors) throws IOException {
        Path d = Files.createDirectories(dir.resolve(name));
        Files.writeString(d.resolve("config.json"), "{\"model_type\": \"gpt2\", \"n_layer\": " + nLayer
                + ", \"n_embd\": 5, \"vocab_size\": 7, \"seed_note\": \"" + name + "\"}");
        SafeTensorsWriter.write(d.resolve("model.safetensors"), tensors);
        return d;
    }

    private Path halfMember(String name, short[] values) throws IOException {
        Path d = Files.createDirectories(dir.resolve(name));
        Files.writeString(d.resolve("config.json"), "{\"model_type\": \"gpt2\", \"n_layer\": 1}");
        byte[] header = ("{\"w\":{\"dtype\":\"F16\",\"shape\":[" + values.length + "],\"data_offsets\":[0,"
                + values.length * 2 + "]}}").getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + header.length + values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(header.length).put(header);
        for (short v : values) {
            buf.putShort(v);
        }
        Files.write(d.resolve("model.safetensors"), buf.array());
        return d;
    }

    private static F32Tensor rand(long seed, int... shape) {
        Random rng = new Random(seed);
        int n = 1;
        for (int s : shape) {
            n *= s;
        }
        float[] data = new float[n];
        for (int i = 0; i < n; i++) {
            data[i] = (float) rng.nextGaussian();
        }
        return F32Tensor.of(data, shape);
    }

    private static SafeTensors open(Path modelDir) throws IOException {
        return SafeTensors.open(modelDir.resolve("model.safetensors"));
    }

    private static long headerBytes(Path modelDir) throws IOException {
        try (SafeTensors s = open(modelDir)) {
            return s.dataStart();
        }
    }
}
