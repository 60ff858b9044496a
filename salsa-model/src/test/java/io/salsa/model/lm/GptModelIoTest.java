package io.salsa.model.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.salsa.model.safetensors.F32Tensor;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.safetensors.SafeTensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GptModelIoTest {

    private static final GptConfig CFG = GptConfig.of(2, 2, 16, 50, 24, 0, 1);

    @TempDir
    Path tmp;

    @Test
    void shouldRoundTripAModelFolderAsHuggingFaceWritesIt() throws Exception {
        Path dir = tmp.resolve("m");
        try (GptModel m = GptModel.random(CFG, GptModel.Head.NONE, 3, Device.cpu())) {
            m.save(dir);
            try (SafeTensors st = SafeTensors.open(dir.resolve(ModelFolder.WEIGHTS))) {
                assertEquals(new java.util.TreeSet<>(m.parameters().keySet()), new java.util.TreeSet<>(st.names()));
                assertTrue(st.contains("transformer.h.1.attn.c_attn.weight"));
                assertArrayEquals(new long[] {16, 48}, st.info("transformer.h.1.attn.c_attn.weight").shape());
                assertTrue(!st.contains(GptModel.LM_HEAD), "tied LM head is not stored");
                assertEquals("pt", st.metadata().get("format"));
            }
            assertEquals(CFG, GptConfig.load(dir));
            try (GptModel back = GptModel.load(dir, GptModel.Head.NONE, Device.cpu())) {
                for (String name : m.parameters().keySet()) {
                    assertArrayEquals(m.weights(name), back.weights(name), name);
                }
            }
        }
    }

    @Test
    void shouldGiveAPolicyAValueHeadAndARewardModelAScoreHead() throws Exception {
        Path dir = tmp.resolve("sft");
        try (GptModel m = GptModel.random(CFG, GptModel.Head.NONE, 3, Device.cpu())) {
            m.save(dir);
        }
        try (GptModel policy = GptModel.load(dir, GptModel.Head.VALUE, Device.cpu());
             GptModel policy2 = GptModel.load(dir, GptModel.Head.VALUE, Device.cpu());
             GptModel rm = GptModel.load(dir, GptModel.Head.SCORE, Device.cpu());
             NDManager scope = policy.newScope()) {
            assertArrayEquals(policy.weights(GptModel.VALUE_WEIGHT), policy2.weights(GptModel.VALUE_WEIGHT), "head start is seeded");
            assertArrayEquals(new long[] {1, 16}, policy.shapeOf(GptModel.VALUE_WEIGHT).getShape());
            NDArray ids = scope.create(new long[][] {{3, 4, 5, 1, 1}, {6, 7, 8, 9, 10}});
            NDArray mask = scope.create(new long[][] {{1, 1, 1, 0, 0}, {1, 1, 1, 1, 1}});
            GptOutput out = policy.forward(ids, mask);
            assertArrayEquals(new long[] {2, 5}, out.values().getShape().getShape());
            GptModel.PolicyOutput po = policy.policyForward(ids, mask);
            assertArrayEquals(new long[] {2, 4}, po.logProbs().getShape().getShape());
            assertArrayEquals(new long[] {2, 4}, po.values().getShape().getShape());
            assertArrayEquals(policy.tokenLogProbs(ids, mask).toFloatArray(), po.logProbs().toFloatArray(), 1e-6f);
            float[] entropy = GptModel.entropyOfNext(out.logits()).toFloatArray();
            for (float h : entropy) {
                assertTrue(h > 0 && h <= Math.log(50) + 1e-4, "entropy " + h);
            }
            float[] scores = rm.scores(ids, mask).toFloatArray();
            assertEquals(2, scores.length);
            // score of row 0 equals the score of its unpadded prefix alone: it reads the last real token
            float alone = rm.scores(scope.create(new long[][] {{3, 4, 5}}), scope.create(new long[][] {{1, 1, 1}})).toFloatArray()[0];
            assertEquals(alone, scores[0], 1e-5);
            // left padding reads the same token
            float left = rm.scores(scope.create(new long[][] {{1, 1, 3, 4, 5}}), scope.create(new long[][] {{0, 0, 1, 1, 1}})).toFloatArray()[0];
            assertEquals(alone, left, 1e-5);

            Path pdir = tmp.resolve("policy");
            policy.setWeights(GptModel.VALUE_BIAS, new float[] {0.25f});
            policy.save(pdir);
            try (GptModel back = GptModel.load(pdir, GptModel.Head.VALUE, Device.cpu());
                 GptModel lmOnly = GptModel.load(pdir, GptModel.Head.NONE, Device.cpu())) {
                assertArrayEquals(new float[] {0.25f}, back.weights(GptModel.VALUE_BIAS));
                assertEquals(policy.parameters().size() - 2, lmOnly.parameters().size(), "an LM ignores the value head");
            }
        }
    }

    @Test
    void shouldRefuseMissingExtraAndMisShapedTensorsNamingThem() throws Exception {
        Map<String, F32Tensor> good = new LinkedHashMap<>();
        try (GptModel m = GptModel.random(CFG, GptModel.Head.NONE, 3, Device.cpu())) {
            for (String name : m.parameters().keySet()) {
                good.put(name, new F32Tensor(m.shapeOf(name).getShape(), m.weights(name)));
            }
        }
        assertRefused(without(good, "transformer.h.1.mlp.c_fc.bias"), "missing tensor 'transformer.h.1.mlp.c_fc.bias'");
        Map<String, F32Tensor> extra = new LinkedHashMap<>(good);
        extra.put("transformer.h.2.ln_1.weight", new F32Tensor(new long[] {16}, new float[16]));
        assertRefused(extra, "unexpected tensor 'transformer.h.2.ln_1.weight'");
        Map<String, F32Tensor> shaped = new LinkedHashMap<>(good);
        shaped.put("transformer.wpe.weight", new F32Tensor(new long[] {16, 24}, new float[16 * 24]));
        assertRefused(shaped, "tensor 'transformer.wpe.weight' has shape [16, 24], the config needs [24, 16]");

        // an untied lm_head of the right shape is accepted (and ignored)
        Map<String, F32Tensor> withHead = new LinkedHashMap<>(good);
        withHead.put(GptModel.LM_HEAD, good.get("transformer.wte.weight"));
        Path dir = folder(withHead);
        try (GptModel m = GptModel.load(dir, GptModel.Head.NONE, Device.cpu())) {
            assertArrayEquals(good.get("transformer.ln_f.bias").data(), m.weights("transformer.ln_f.bias"));
        }
        // OpenAI-style names without "transformer." and with attention-mask buffers load too
        Map<String, F32Tensor> openai = new LinkedHashMap<>();
        good.forEach((k, v) -> openai.put(k.substring("transformer.".length()), v));
        openai.put("h.0.attn.bias", new F32Tensor(new long[] {1, 1, 24, 24}, new float[24 * 24]));
        try (GptModel m = GptModel.load(folder(openai), GptModel.Head.NONE, Device.cpu())) {
            assertArrayEquals(good.get("transformer.h.0.attn.c_proj.weight").data(), m.weights("transformer.h.0.attn.c_proj.weight"));
        }
        IOException e = assertThrows(IOException.class, () -> GptModel.load(tmp.resolve("nope"), GptModel.Head.NONE, Device.cpu()));
        assertTrue(e.getMessage().contains("nope"), e.getMessage());
    }

    @Test
    void shouldValidateConfigSettingsByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GptConfig.of(2, 3, 16, 50, 24, 0, 1));
        assertTrue(e.getMessage().contains("n_head must divide n_embd"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> GptConfig.of(2, 2, 16, 50, 24, 50, 1));
        assertTrue(e.getMessage().contains("_token_id must be in [0, 49], got 50"), e.getMessage());
        com.fasterxml.jackson.databind.node.ObjectNode json = CFG.toJson();
        json.put("activation_function", "relu");
        e = assertThrows(IllegalArgumentException.class, () -> GptConfig.fromJson(json));
        assertTrue(e.getMessage().contains("activation_function"), e.getMessage());
        assertNotEquals(CFG, GptConfig.of(2, 2, 16, 50, 25, 0, 1));
    }

    private static Map<String, F32Tensor> without(Map<String, F32Tensor> m, String name) {
        Map<String, F32Tensor> copy = new LinkedHashMap<>(m);
        copy.remove(name);
        return copy;
    }

    private int folders;

    private Path folder(Map<String, F32Tensor> tensors) throws IOException {
        Path dir = tmp.resolve("f" + folders++);
        Files.createDirectories(dir);
        CFG.save(dir);
        SafeTensorsWriter.write(dir.resolve(ModelFolder.WEIGHTS), tensors);
        return dir;
    }

    private void assertRefused(Map<String, F32Tensor> tensors, String messagePart) throws IOException {
        Path dir = folder(tensors);
        IOException e = assertThrows(IOException.class, () -> GptModel.load(dir, GptModel.Head.NONE, Device.cpu()));
        assertTrue(e.getMessage().contains(messagePart), e.getMessage());
    }
}
