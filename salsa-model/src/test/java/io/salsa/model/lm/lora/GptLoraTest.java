package io.salsa.model.lm.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.GptModel.Head;
import io.salsa.model.lm.Precision;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA on GPT-2's Conv1D layers (weights stored [in, out], PEFT's {@code fan_in_fan_out=True}). There is no PEFT
 * reference for GPT-2 in the golden set, so the oracle is the merge: base + adapter must compute what the merged
 * weights compute, and the adapter's gradients must be the chain rule through ΔW = s·(B·A)ᵀ of the merged model's
 * weight gradient.
 */
class GptLoraTest {

    private static final GptConfig CFG = GptConfig.of(2, 2, 16, 40, 24, 0, 1);
    private static final long[][] IDS = {{3, 7, 11, 2, 9, 30}, {5, 5, 18, 21, 0, 0}};
    private static final long[][] MASK = {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0}};
    private static final List<String> ALL = List.of("c_attn", "c_proj", "c_fc");

    /** An adapter with B random too (a fresh one has B = 0 and would test nothing). */
    private static LoraAdapter adapter(GptModel model, List<String> targets) {
        LoraAdapter lora = LoraAdapter.create(model, LoraConfig.of(4, 8, 0, targets, null), 5);
        SplittableRandom rng = new SplittableRandom(9);
        for (Map.Entry<String, Parameter> e : lora.parameters().entrySet()) {
            if (e.getKey().endsWith("lora_B.weight")) {
                float[] b = new float[Math.toIntExact(e.getValue().getArray().size())];
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) rng.nextDouble(-0.3, 0.3);
                }
                e.getValue().getArray().set(b);
            }
        }
        return lora;
    }

    private static float[] logits(GptModel model) {
        try (NDManager s = model.newScope()) {
            return model.run(s.create(IDS), s.create(MASK)).logits().toFloatArray();
        }
    }

    private static void assertClose(float[] want, float[] got, double tol, String what) {
        assertEquals(want.length, got.length, what);
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs(want[i] - got[i]));
        }
        assertTrue(worst <= tol, what + ": max |difference| " + worst + " > " + tol);
    }

    @Test
    void shouldComputeWhatTheMergedWeightsComputeAndExactlyTheBaseWhenDisabled() {
        try (GptModel model = GptModel.random(CFG, Head.NONE, 1, Device.cpu())) {
            float[] base = logits(model);
            try (LoraAdapter lora = adapter(model, ALL)) {
                assertTrue(lora.config().fanInFanOut(), "GPT-2's Conv1D: fan_in_fan_out as PEFT sets it");
                assertEquals(2 * 4 * CFG.nLayer(), lora.parameters().size(), "A and B on four Conv1D per block");
                float[] active = logits(model);
                assertTrue(Math.abs(active[0] - base[0]) > 1e-4, "the adapter changes the output");
                lora.setEnabled(false);
                assertArrayEquals(base, logits(model), "disabled: the base, bit for bit");
                lora.setEnabled(true);
                lora.merge();
                assertClose(active, logits(model), 1e-5, "merged vs active");
            }
        }
    }

    @Test
    void shouldGiveTheChainRuleGradientsThroughTheMergedWeight() {
        String weight = "transformer.h.1.attn.c_attn.weight";
        String key = LoraAdapter.KEY_PREFIX + "transformer.h.1.attn.c_attn";
        try (GptModel model = GptModel.random(CFG, Head.NONE, 1, Device.cpu());
             GptModel merged = GptModel.random(CFG, Head.NONE, 1, Device.cpu())) {
            model.setTrainable(false);
            LoraAdapter lora = adapter(model, List.of("c_attn"));
            lora.setTrainable(true);
            float[] a = lora.parameters().get(key + ".lora_A.weight").getArray().toFloatArray();
            float[] b = lora.parameters().get(key + ".lora_B.weight").getArray().toFloatArray();
            float[] gradA;
            float[] gradB;
            try (NDManager s = model.newScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(loss(model, s));
                gradA = lora.parameters().get(key + ".lora_A.weight").getArray().getGradient().toFloatArray();
                gradB = lora.parameters().get(key + ".lora_B.weight").getArray().getGradient().toFloatArray();
            }
            int r = 4;
            int in = a.length / r;
            int out = b.length / r;
            double s = lora.config().scaling();
            for (String w : lora.adaptedWeights()) { // both blocks' c_attn: the merged model must compute the same
                String k = LoraAdapter.KEY_PREFIX + w.substring(0, w.length() - ".weight".length());
                merged.setWeights(w, LoraAdapter.mergedWeight(model.weights(w), true,
                        lora.parameters().get(k + ".lora_A.weight").getArray().toFloatArray(),
                        lora.parameters().get(k + ".lora_B.weight").getArray().toFloatArray(), r, s));
            }
            lora.close();
            merged.setTrainable(true);
            float[] g; // dL/dW of the merged model, [in, out]
            try (NDManager sc = merged.newScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(loss(merged, sc));
                g = merged.parameters().get(weight).getArray().getGradient().toFloatArray();
            }
            // ΔW[i, o] = s·Σk B[o, k]·A[k, i]  ⇒  dL/dA[k, i] = s·Σo G[i, o]·B[o, k],  dL/dB[o, k] = s·Σi G[i, o]·A[k, i]
            float[] wantA = new float[a.length];
            float[] wantB = new float[b.length];
            for (int k = 0; k < r; k++) {
                for (int i = 0; i < in; i++) {
                    for (int o = 0; o < out; o++) {
                        wantA[k * in + i] += (float) (s * g[i * out + o] * b[o * r + k]);
                        wantB[o * r + k] += (float) (s * g[i * out + o] * a[k * in + i]);
                    }
                }
            }
            assertRelative(wantB, gradB, "lora_B gradient");
            assertRelative(wantA, gradA, "lora_A gradient");
        }
    }

    private static NDArray loss(GptModel model, NDManager s) {
        NDArray logp = model.tokenLogProbs(s.create(IDS), s.create(MASK));
        return logp.mul(s.create(new float[][] {{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}})).sum().neg();
    }

    private static void assertRelative(float[] want, float[] got, String what) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < want.length; i++) {
            num += (want[i] - got[i]) * (double) (want[i] - got[i]);
            den += want[i] * (double) want[i];
        }
        assertTrue(den > 0, what + " is not all zero");
        assertTrue(Math.sqrt(num / den) < 1e-4, what + ": relative error " + Math.sqrt(num / den));
    }

    @Test
    void shouldRoundTripThroughPeftFilesAndRunUnderMixedPrecision(@TempDir Path tmp) throws Exception {
        try (GptModel model = GptModel.random(CFG, Head.NONE, 1, Device.cpu());
             GptModel other = GptModel.random(CFG, Head.NONE, 1, Device.cpu())) {
            float[] active;
            try (LoraAdapter lora = adapter(model, List.of("c_attn", "c_fc"))) {
                active = logits(model);
                lora.save(tmp.resolve("adapter"));
                model.setPrecision(Precision.FP16);
                assertClose(active, logits(model), 5e-2, "fp16 autocast with an adapter");
                model.setPrecision(Precision.FP32);
            }
            try (LoraAdapter loaded = LoraAdapter.load(other, tmp.resolve("adapter"))) {
                assertTrue(loaded.config().fanInFanOut());
                assertArrayEquals(active, logits(other), "the saved adapter computes the same logits");
            }
        }
    }

    @Test
    void shouldNameUnknownTargetsWithTheModulesGpt2Has() {
        try (GptModel model = GptModel.random(CFG, Head.NONE, 1, Device.cpu())) {
            String msg = assertThrows(IllegalArgumentException.class,
                    () -> LoraAdapter.create(model, LoraConfig.of(4, 8, 0, List.of("q_proj"), null), 1)).getMessage();
            assertTrue(msg.contains("'q_proj'") && msg.contains("c_attn") && msg.contains("c_fc"), msg);
        }
    }
}
