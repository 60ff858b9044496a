package io.salsa.model.lm.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.salsa.model.GoldenFiles;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GoldenBatch;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.GptModel.Head;
import io.salsa.model.lm.GptOutput;
import io.salsa.model.lm.LmCache;
import io.salsa.model.lm.Npy;
import io.salsa.model.lm.PolicyGradients;
import io.salsa.model.lm.Precision;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * fp16 mixed precision ({@link Precision#FP16}) for the Llama family on CPU, against Hugging Face's float32 outputs
 * on the golden sets: logits within half-precision error, float32 outputs, greedy decoding through the (float16)
 * cache equal to float32's where the reference's top-1 margin is wider than that error, the cached steps equal to
 * the full forward, and gradients reaching every weight through the differentiable casts.
 */
class LlamaMixedPrecisionTest {

    /**
     * Max |Δ| of logits and token log-probs vs Hugging Face's float32, relative to the largest |logit| of the batch
     * (fp16 has an 11-bit mantissa, ~5e-4 relative per op; measured on the golden sets: at most 2.4e-3, Mistral).
     */
    static final double FP16_REL_TOL = 1e-2;
    /** Max relative L2 error of each parameter's gradient vs float32 (measured on Qwen2: at most 3.0e-3). */
    private static final double GRAD_REL_TOL = 1e-2;

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral", "gemma"})
    void fp16LogitsMatchHuggingFaceFloat32WithinHalfPrecisionError(String name) throws Exception {
        Path dir = GoldenFiles.require(name);
        GoldenBatch batch = GoldenBatch.read(dir);
        Npy ref = Npy.read(dir.resolve("logits.npy"));
        try (CausalLm model = CausalLms.load(dir, Head.VALUE, Device.cpu())) {
            model.setPrecision(Precision.FP16);
            assertEquals(Precision.FP16, model.precision());
            long managedBefore = model.manager().getManagedArrays().size();
            NDManager scope = model.newScope();
            NDArray ids = scope.create(batch.ids().longRows());
            GptOutput out = model.run(ids, scope.create(batch.mask().longRows()), null, null, true);
            assertEquals(DataType.FLOAT32, out.logits().getDataType(), "logits come out float32");
            assertEquals(DataType.FLOAT32, out.values().getDataType(), "values come out float32");
            assertEquals(DataType.FLOAT32, out.lastHidden().getDataType(), "hidden states come out float32");
            out.hiddenStates().forEach(h -> assertEquals(DataType.FLOAT32, h.getDataType(), "hidden states"));
            double scale = maxAbs(ref.floats());
            double diff = maskedMaxDiff(ref.floats(), out.logits().toFloatArray(), batch.mask().longs());
            assertTrue(diff > 0, name + ": the fp16 path must actually run in float16 (equal to float32 is suspicious)");
            assertTrue(diff <= FP16_REL_TOL * scale, name + " logits: max |Δ| " + diff + " > " + FP16_REL_TOL + " × "
                    + scale);
            float[] lp = GptModel.logProbsOfNext(out.logits(), ids).toFloatArray();
            double lpDiff = 0;
            for (int i = 0; i < lp.length; i++) {
                if (batch.tokenMask().floats()[i] == 1f) {
                    lpDiff = Math.max(lpDiff, Math.abs(lp[i] - batch.tokenLogProbs().floats()[i]));
                }
            }
            assertTrue(lpDiff <= FP16_REL_TOL * scale, name + " token log-probs: max |Δ| " + lpDiff);
            scope.close();
            assertEquals(managedBefore, model.manager().getManagedArrays().size(),
                    "the float16 weight copies belong to the step scope, not to the model");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral", "gemma"})
    void fp16GreedyDecodingThroughTheCacheFollowsFloat32AndTheFullForward(String name) throws Exception {
        Path dir = GoldenFiles.require(name);
        Npy stepLogits = Npy.read(dir.resolve("greedy_step_logits.npy"));
        long[] expected = Npy.read(dir.resolve("greedy_ids.npy")).longs();
        int steps = (int) stepLogits.shape()[0];
        int v = (int) stepLogits.shape()[1];
        int prompt = expected.length - steps;
        double scale = maxAbs(stepLogits.floats());
        int compared = 0;
        try (CausalLm model = CausalLms.load(dir, Head.NONE, Device.cpu()); NDManager scope = model.newScope()) {
            model.setPrecision(Precision.FP16);
            try (LmCache cache = model.newCache(scope, 1, expected.length)) {
                long[] seq = Arrays.copyOf(expected, prompt);
                NDArray next = scope.create(new long[][] {seq});
                for (int s = 0; s < steps; s++) {
                    long seen = cache.length() + next.getShape().get(1);
                    float[] last = LlamaGoldenTest.cachedStep(model, cache, scope, next);
                    // the cached step against a full forward over the whole sequence so far, both fp16
                    double cacheDiff = maxDiff(fullForwardLast(model, scope, Arrays.copyOf(seq, (int) seen)), last);
                    assertTrue(cacheDiff <= FP16_REL_TOL * scale, name + " step " + s + ": cached vs full forward "
                            + cacheDiff);
                    float[] ref = Arrays.copyOfRange(stepLogits.floats(), s * v, (s + 1) * v);
                    double refDiff = maxDiff(ref, last);
                    assertTrue(refDiff <= FP16_REL_TOL * scale, name + " step " + s + " logits: max |Δ| " + refDiff);
                    int arg = LlamaGoldenTest.argMax(last);
                    if (margin(ref) > 2 * refDiff) {
                        // the float16 error cannot reorder the top two: the token must be float32's
                        assertEquals(expected[prompt + s], arg, name + " greedy id at step " + s);
                        compared++;
                    } else if (arg != expected[prompt + s]) {
                        break; // a near tie decided the other way: the rest is another sequence
                    }
                    seq = Arrays.copyOf(seq, (int) seen + 1);
                    seq[(int) seen] = arg;
                    next = scope.create(new long[][] {{arg}});
                }
            }
        }
        assertTrue(compared >= steps / 2, name + ": only " + compared + " of " + steps + " steps had a clear margin");
    }

    @Test
    void fp16GradientsReachEveryWeightAndMatchFloat32() throws Exception {
        Path dir = GoldenFiles.require("qwen2"); // q/k/v biases and an untied head: every kind of weight
        GoldenBatch batch = GoldenBatch.read(dir);
        PolicyGradients.assertClose(gradients(dir, batch, Precision.FP32), gradients(dir, batch, Precision.FP16),
                GRAD_REL_TOL);
    }

    @Test
    void aCacheMadeBeforeSwitchingPrecisionIsRefusedNamingTheFix() throws Exception {
        try (CausalLm model = CausalLms.load(GoldenFiles.require("llama"), Head.NONE, Device.cpu());
             NDManager scope = model.newScope();
             LmCache cache = model.newCache(scope, 1, 4)) {
            model.setPrecision(Precision.FP16);
            NDArray ids = scope.create(new long[][] {{3, 4}});
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> model.run(ids, null, null, cache,
                    false));
            assertTrue(e.getMessage().contains("newCache after setPrecision"), e.getMessage());
            assertEquals(0, cache.length(), "nothing was written");
        }
    }

    private static Map<String, float[]> gradients(Path dir, GoldenBatch batch, Precision precision) throws Exception {
        try (CausalLm model = CausalLms.load(dir, Head.VALUE, Device.cpu())) {
            return PolicyGradients.of(model, precision, batch.ids().longRows(), batch.mask().longRows(), batch.tokenMask());
        }
    }

    /** The last position's logits of a full (uncached) forward over {@code seq}, computed in a sub-scope. */
    private static float[] fullForwardLast(CausalLm model, NDManager scope, long[] seq) {
        try (NDManager step = scope.newSubManager()) {
            NDArray logits = model.run(step.create(new long[][] {seq}), null).logits();
            long t = logits.getShape().get(1);
            int v = (int) logits.getShape().get(2);
            return Arrays.copyOfRange(logits.toFloatArray(), (int) ((t - 1) * v), (int) (t * v));
        }
    }

    private static double maxDiff(float[] expected, float[] actual) {
        return maskedMaxDiff(expected, actual, new long[] {1});
    }

    private static double maskedMaxDiff(float[] expected, float[] actual, long[] mask) {
        assertEquals(expected.length, actual.length, "size");
        int width = expected.length / mask.length;
        double max = 0;
        for (int p = 0; p < mask.length; p++) {
            for (int k = 0; mask[p] == 1 && k < width; k++) {
                max = Math.max(max, Math.abs(expected[p * width + k] - actual[p * width + k]));
            }
        }
        return max;
    }

    private static double maxAbs(float[] xs) {
        double max = 0;
        for (float x : xs) {
            max = Math.max(max, Math.abs(x));
        }
        return max;
    }

    /** Top-1 minus top-2 logit. */
    private static double margin(float[] xs) {
        float[] sorted = xs.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length - 1] - sorted[sorted.length - 2];
    }
}
