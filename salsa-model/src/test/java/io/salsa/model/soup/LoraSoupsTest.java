package io.salsa.model.soup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.model.GoldenFiles;
import io.salsa.model.lm.GptModel.Head;
import io.salsa.model.lm.lora.LoraAdapter;
import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.lm.llama.LlamaModel;
import io.salsa.model.safetensors.Checkpoint;
import io.salsa.model.safetensors.CheckpointWriter;
import io.salsa.model.safetensors.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LoRA soups on the golden llama base: the exact mean of the merged weights; members of other bases refused. */
class LoraSoupsTest {

    private final Path base = GoldenFiles.require("llama");

    /** A trained-looking adapter: random A and B (B ≠ 0), saved naming its base and the base's sha256. */
    private Path member(Path dir, LoraConfig config, long seed, String baseSha) throws Exception {
        try (LlamaModel model = LlamaModel.load(base, Head.NONE, Device.cpu());
             LoraAdapter a = LoraAdapter.create(model, config, seed)) {
            a.randomise(seed + 100, 0.05);
            a.setBaseSha256(baseSha);
            a.save(dir);
        }
        return dir;
    }

    @Test
    void shouldAverageTheMergedWeightsExactly(@TempDir Path tmp) throws Exception {
        String sha = LoraSoups.baseSha256(base);
        LoraConfig c1 = LoraConfig.of(4, 8, 0, List.of("q_proj", "v_proj"), "llama");
        LoraConfig c2 = new LoraConfig(2, 4, 0, List.of("q_proj", "down_proj"), true, false, "llama");
        Path m1 = member(tmp.resolve("m1"), c1, 1, sha);
        Path m2 = member(tmp.resolve("m2"), c2, 2, sha);
        LoraSoups.Result r = LoraSoups.build(base, List.of(m1, m2), tmp.resolve("soup"));
        assertEquals(2, r.members());

        try (Checkpoint b = Checkpoint.open(base); Checkpoint soup = Checkpoint.open(tmp.resolve("soup"));
             SafeTensors a1 = SafeTensors.open(m1.resolve(LoraAdapter.WEIGHTS_FILE));
             SafeTensors a2 = SafeTensors.open(m2.resolve(LoraAdapter.WEIGHTS_FILE))) {
            assertEquals(b.names(), soup.names());
            int changed = 0;
            for (String name : b.names()) {
                float[] w = b.readFloats(name);
                float[] x1 = byHand(w, a1, name, c1);
                float[] x2 = byHand(w, a2, name, c2);
                float[] expected = new float[w.length];
                for (int i = 0; i < w.length; i++) {
                    expected[i] = 0.5f * x1[i];
                    expected[i] += 0.5f * x2[i];
                }
                if (x1 == w && x2 == w) {
                    expected = w;
                } else {
                    changed++;
                }
                assertArrayEquals(expected, soup.readFloats(name), name);
            }
            assertEquals(r.mergedTensors(), changed);
            assertEquals(3 * 2, changed, "q_proj, v_proj and down_proj of both layers"); // the golden llama has 2 layers
        }
        assertTrue(Files.exists(tmp.resolve("soup/config.json")));
        try (LlamaModel soupModel = LlamaModel.load(tmp.resolve("soup"), Head.NONE, Device.cpu());
             LlamaModel merged1 = LlamaModel.load(base, Head.NONE, Device.cpu())) {
            LoraAdapter.load(merged1, m1).merge(); // the model's merge is the same arithmetic as the soup's
            String q = "model.layers.0.self_attn.q_proj.weight";
            try (SafeTensors a1 = SafeTensors.open(m1.resolve(LoraAdapter.WEIGHTS_FILE)); Checkpoint b = Checkpoint.open(base)) {
                assertArrayEquals(byHand(b.readFloats(q), a1, q, c1), merged1.weights(q));
            }
            assertNotEquals(merged1.weights(q)[0], soupModel.weights(q)[0]);
        }
    }

    /** W + s·B·A for one member, computed element by element (double sum, one rounding); W itself when not adapted. */
    private static float[] byHand(float[] w, SafeTensors adapter, String name, LoraConfig c) throws Exception {
        String key = LoraAdapter.KEY_PREFIX + name.substring(0, name.length() - ".weight".length());
        if (!adapter.tensors().containsKey(key + ".lora_A.weight")) {
            return w;
        }
        float[] a = adapter.readFloats(key + ".lora_A.weight");
        float[] b = adapter.readFloats(key + ".lora_B.weight");
        int r = c.r();
        int in = a.length / r;
        int out = b.length / r;
        double s = c.useRslora() ? c.alpha() / Math.sqrt(r) : c.alpha() / r;
        float[] m = new float[w.length];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double d = 0;
                for (int k = 0; k < r; k++) {
                    d += (double) b[o * r + k] * a[k * in + i];
                }
                m[o * in + i] = (float) (w[o * in + i] + s * d);
            }
        }
        return m;
    }

    @Test
    void shouldWeightTheMergedWeightsAsSoupsDoes(@TempDir Path tmp) throws Exception {
        String sha = LoraSoups.baseSha256(base);
        LoraConfig c = LoraConfig.of(2, 4, 0, List.of("q_proj"), "llama");
        Path m1 = member(tmp.resolve("m1"), c, 1, sha);
        Path m2 = member(tmp.resolve("m2"), c, 2, sha);
        LoraSoups.build(base, List.of(m1, m2), List.of(3.0, 1.0), tmp.resolve("w"));
        String q = "model.layers.0.self_attn.q_proj.weight";
        try (Checkpoint b = Checkpoint.open(base); Checkpoint soup = Checkpoint.open(tmp.resolve("w"));
             SafeTensors a1 = SafeTensors.open(m1.resolve(LoraAdapter.WEIGHTS_FILE));
             SafeTensors a2 = SafeTensors.open(m2.resolve(LoraAdapter.WEIGHTS_FILE))) {
            float[] x1 = byHand(b.readFloats(q), a1, q, c);
            float[] x2 = byHand(b.readFloats(q), a2, q, c);
            float[] expected = new float[x1.length];
            for (int i = 0; i < x1.length; i++) {
                expected[i] = 0.75f * x1[i];
                expected[i] += 0.25f * x2[i];
            }
            assertArrayEquals(expected, soup.readFloats(q));
        }
        assertEquals(LoraSoups.build(base, List.of(m1, m2), tmp.resolve("u")).sha256(),
                LoraSoups.build(base, List.of(m1, m2), List.of(1.0, 1.0), tmp.resolve("ones")).sha256(),
                "weights all 1 are the uniform soup");
        String msg = assertThrows(SoupException.class,
                () -> LoraSoups.build(base, List.of(m1, m2), List.of(1.0, -1.0), tmp.resolve("bad"))).getMessage();
        assertTrue(msg.contains("member 2") && msg.contains("m2") && msg.contains("-1.0"), msg);
        assertTrue(Files.notExists(tmp.resolve("bad")), "nothing written");
    }

    @Test
    void shouldRefuseMembersOfDifferentBasesNamingThem(@TempDir Path tmp) throws Exception {
        String sha = LoraSoups.baseSha256(base);
        LoraConfig c = LoraConfig.of(2, 4, 0, List.of("q_proj"), "llama");
        Path m1 = member(tmp.resolve("m1"), c, 1, sha);
        Path other = member(tmp.resolve("other-name"), c.withBaseModel("qwen2"), 2, sha);
        String msg = assertThrows(SoupException.class, () -> LoraSoups.build(base, List.of(m1, other), tmp.resolve("s1")))
                .getMessage();
        assertTrue(msg.contains("member 2") && msg.contains("other-name") && msg.contains("qwen2") && msg.contains("llama"), msg);

        Path otherSha = member(tmp.resolve("other-sha"), c, 3, "0".repeat(64));
        msg = assertThrows(SoupException.class, () -> LoraSoups.build(base, List.of(m1, otherSha), tmp.resolve("s2")))
                .getMessage();
        assertTrue(msg.contains("member 2") && msg.contains("other-sha") && msg.contains(sha), msg);
        msg = assertThrows(SoupException.class, () -> LoraSoups.build(base, List.of(otherSha), tmp.resolve("s3")))
                .getMessage();
        assertTrue(msg.contains("member 1") && msg.contains(sha), "the given base is checked too: " + msg);
        assertTrue(Files.notExists(tmp.resolve("s1")) && Files.notExists(tmp.resolve("s2")), "nothing written");
    }

    @Test
    void shouldTellShardedBasesApartByTheirValuesNotOnlyByTheirIndex(@TempDir Path tmp) throws IOException {
        Map<String, long[]> tensors = new LinkedHashMap<>();
        tensors.put("a.weight", new long[] {64, 64});
        tensors.put("b.weight", new long[] {64, 64});
        Path one = sharded(tmp.resolve("one"), tensors, 1f);
        Path same = sharded(tmp.resolve("same"), tensors, 1f);
        Path other = sharded(tmp.resolve("other"), tensors, 2f);
        try (Checkpoint c = Checkpoint.open(one)) {
            assertEquals(2, c.files().size(), "a sharded base");
        }
        assertEquals(Files.readString(one.resolve(Checkpoint.INDEX)), Files.readString(other.resolve(Checkpoint.INDEX)),
                "same layout, same index file");
        assertEquals(LoraSoups.baseSha256(one), LoraSoups.baseSha256(same));
        assertNotEquals(LoraSoups.baseSha256(one), LoraSoups.baseSha256(other));
    }

    private static Path sharded(Path dir, Map<String, long[]> tensors, float value) throws IOException {
        Files.createDirectories(dir);
        CheckpointWriter.write(dir, tensors, name -> {
            float[] v = new float[64 * 64];
            Arrays.fill(v, value);
            return v;
        }, 64 * 64 * 4);
        return dir;
    }
}
