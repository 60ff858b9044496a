package io.salsa.model.lm.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.GoldenFiles;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.GptModel.Head;
import io.salsa.model.lm.GoldenAsserts;
import io.salsa.model.lm.GoldenBatch;
import io.salsa.model.lm.GptOutput;
import io.salsa.model.lm.LmCache;
import io.salsa.model.lm.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Llama-family decoder against Hugging Face transformers' outputs for the same random weights (golden/llama,
 * qwen2, mistral, gemma, llama-reward). Shapes and expected values come from the files only.
 */
class LlamaGoldenTest {

    private static final double TOL = GoldenAsserts.TOL;

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral", "gemma"})
    void shouldMatchHuggingFaceLogitsHiddenStatesAndLogProbs(String name) throws Exception {
        Path dir = GoldenFiles.require(name);
        GoldenBatch batch = GoldenBatch.read(dir);
        Npy ids = batch.ids();
        Npy mask = batch.mask();
        Npy hidden = batch.hidden();
        try (CausalLm model = CausalLms.load(dir, Head.NONE, Device.cpu())) {
            assertEquals(name, model.modelType());
            long managedBefore = model.manager().getManagedArrays().size();
            NDManager scope = model.newScope();
            NDArray idArr = scope.create(ids.longRows());
            NDArray maskArr = scope.create(mask.longRows());
            GptOutput out = model.run(idArr, maskArr, scope.create(batch.positions().longRows()), null, true);
            assertMaskedClose(name + " logits", Npy.read(dir.resolve("logits.npy")), out.logits(), mask.longs());
            List<NDArray> hs = out.hiddenStates();
            assertEquals(hidden.shape()[0], hs.size(), "hidden states: embeddings + one per layer");
            int per = hidden.floats().length / hs.size();
            for (int l = 0; l < hs.size(); l++) {
                float[] ref = Arrays.copyOfRange(hidden.floats(), l * per, (l + 1) * per);
                assertMaskedClose(name + " hidden_states[" + l + "]", ref, hs.get(l).toFloatArray(), mask.longs());
            }
            batch.assertTokenLogProbs(name, GptModel.logProbsOfNext(out.logits(), idArr).toFloatArray());
            // positions derived from the mask
            batch.assertTokenLogProbs(name + " (derived positions)", model.tokenLogProbs(idArr, maskArr).toFloatArray());
            scope.close();
            assertEquals(managedBefore, model.manager().getManagedArrays().size(),
                    "closing the step scope releases everything the forward pass created");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral", "gemma"})
    void shouldMatchHuggingFaceLossAndGradients(String name) throws Exception {
        Path dir = GoldenFiles.require(name);
        JsonNode summary = new ObjectMapper().readTree(GoldenFiles.require("summary_llm.json").toFile());
        double refLoss = summary.get("models").get(name).get("loss_mean_next_token_ce").asDouble();
        try (CausalLm model = CausalLms.load(dir, Head.NONE, Device.cpu()); NDManager scope = model.newScope()) {
            model.setTrainable(true);
            float loss = GoldenBatch.read(dir).backwardMeanLoss(model, scope);
            assertEquals(refLoss, loss, TOL, "mean next-token cross-entropy");
            assertGradClose(model, "model.embed_tokens.weight", Npy.read(dir.resolve("grad_embed.npy")));
            assertGradClose(model, "model.layers.0.self_attn.q_proj.weight", Npy.read(dir.resolve("grad_q_proj0.npy")));
            Path bias = dir.resolve("grad_q_proj0_bias.npy");
            if (model.parameters().containsKey("model.layers.0.self_attn.q_proj.bias")) {
                assertTrue(Files.exists(bias), "the golden set has the q bias gradient of a model with q bias");
                assertGradClose(model, "model.layers.0.self_attn.q_proj.bias", Npy.read(bias));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral", "gemma"})
    void shouldGenerateGreedilyThroughThePreallocatedCache(String name) throws Exception {
        Path dir = GoldenFiles.require(name);
        Npy greedy = Npy.read(dir.resolve("greedy_ids.npy"));
        Npy stepLogits = Npy.read(dir.resolve("greedy_step_logits.npy"));
        int steps = (int) stepLogits.shape()[0];
        int v = (int) stepLogits.shape()[1];
        long[] expected = greedy.longs();
        int prompt = expected.length - steps;
        try (CausalLm model = CausalLms.load(dir, Head.NONE, Device.cpu()); NDManager scope = model.newScope();
             LmCache cache = model.newCache(scope, 1, expected.length)) {
            long[] seq = Arrays.copyOf(expected, prompt);
            NDArray next = scope.create(new long[][] {seq});
            for (int s = 0; s < steps; s++) {
                long seen = cache.length() + next.getShape().get(1);
                float[] last = cachedStep(model, cache, scope, next);
                float[] ref = Arrays.copyOfRange(stepLogits.floats(), s * v, (s + 1) * v);
                assertClose(name + " step " + s + " logits", ref, last);
                seq = Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = argMax(last);
                next = scope.create(new long[][] {{seq[seq.length - 1]}});
                assertEquals(seen, cache.length(), "the cache holds every position seen");
            }
            assertArrayEquals(expected, seq, name + " greedy ids");
        }
    }

    /**
     * One generation step through {@code cache}: runs the new ids {@code next} [1, t] in a sub-scope of {@code scope}
     * (the mask covers cached + new positions) and returns the last position's logits [V].
     */
    static float[] cachedStep(CausalLm model, LmCache cache, NDManager scope, NDArray next) {
        long seen = cache.length() + next.getShape().get(1);
        try (NDManager step = scope.newSubManager()) {
            NDArray in = next.duplicate();
            in.attach(step);
            NDArray logits = model.run(in, step.ones(new Shape(1, seen), DataType.INT64), null, cache, false).logits();
            long t = logits.getShape().get(1);
            int v = (int) logits.getShape().get(2);
            return Arrays.copyOfRange(logits.toFloatArray(), (int) ((t - 1) * v), (int) (t * v));
        }
    }

    /** Index of the largest value (the first on ties, as torch.argmax). */
    static int argMax(float[] xs) {
        int arg = 0;
        for (int i = 1; i < xs.length; i++) {
            if (xs[i] > xs[arg]) {
                arg = i;
            }
        }
        return arg;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral", "gemma"})
    void shouldGiveTheLeftPaddedBatchTheRightPaddedResultsOnRealPositions(String name) throws Exception {
        Path dir = GoldenFiles.require(name);
        Npy right = Npy.read(dir.resolve("input_ids.npy"));
        Npy rightMask = Npy.read(dir.resolve("attention_mask.npy"));
        Npy left = Npy.read(dir.resolve("input_ids_left.npy"));
        Npy leftMask = Npy.read(dir.resolve("attention_mask_left.npy"));
        Npy leftPos = Npy.read(dir.resolve("position_ids_left.npy"));
        try (CausalLm model = CausalLms.load(dir, Head.NONE, Device.cpu()); NDManager scope = model.newScope()) {
            NDArray lm = scope.create(leftMask.longRows());
            NDArray derived = scope.create(GptModelPositions.of(lm)); // cumsum(mask) − 1, as generate builds them
            assertArrayEquals(leftPos.longs(), derived.toLongArray(), "position ids derived from the left-padded mask");
            float[] ours = model.run(scope.create(left.longRows()), lm).logits().toFloatArray();
            assertMaskedClose(name + " logits_left", Npy.read(dir.resolve("logits_left.npy")).floats(), ours, leftMask.longs());
            float[] ourRight = model.run(scope.create(right.longRows()), scope.create(rightMask.longRows())).logits().toFloatArray();
            int b = (int) right.shape()[0];
            int t = (int) right.shape()[1];
            int v = model.vocabSize();
            for (int row = 0; row < b; row++) {
                int pads = t - (int) Arrays.stream(Arrays.copyOfRange(leftMask.longs(), row * t, (row + 1) * t)).sum();
                for (int p = 0; p < t - pads; p++) {
                    for (int k = 0; k < v; k++) {
                        float a = ourRight[(row * t + p) * v + k];
                        float c = ours[(row * t + p + pads) * v + k];
                        assertEquals(a, c, TOL, name + " row " + row + " real position " + p);
                    }
                }
            }
            for (float f : ours) {
                assertTrue(Float.isFinite(f), "fully masked pad rows stay finite");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "mistral"})
    void shouldDecodeALeftPaddedBatchThroughTheCacheAsEachRowAlone(String name) throws Exception {
        Path dir = GoldenFiles.require(name);
        long[][] left = Npy.read(dir.resolve("input_ids_left.npy")).longRows();
        long[][] leftMask = Npy.read(dir.resolve("attention_mask_left.npy")).longRows();
        int steps = 6;
        int t = left[0].length;
        try (CausalLm model = CausalLms.load(dir, Head.NONE, Device.cpu()); NDManager scope = model.newScope()) {
            int v = model.vocabSize();
            // the batch: prompt pass on the left-padded rows, then `steps` fixed tokens appended to every row
            float[][][] batched = new float[left.length][steps + 1][];
            try (LmCache cache = model.newCache(scope, left.length, t + steps)) {
                long[][] mask = leftMask;
                NDArray logits = model.run(scope.create(left), scope.create(mask), null, cache, false).logits();
                for (int s = 0; s <= steps; s++) {
                    float[] all = logits.toFloatArray();
                    long width = logits.getShape().get(1);
                    for (int r = 0; r < left.length; r++) {
                        int off = (int) ((r * width + width - 1) * v);
                        batched[r][s] = Arrays.copyOfRange(all, off, off + v);
                    }
                    if (s == steps) {
                        break;
                    }
                    long[][] next = new long[left.length][1];
                    long[][] grown = new long[left.length][];
                    for (int r = 0; r < left.length; r++) {
                        next[r][0] = 10 + s;
                        grown[r] = Arrays.copyOf(mask[r], mask[r].length + 1);
                        grown[r][mask[r].length] = 1;
                    }
                    mask = grown;
                    logits = model.run(scope.create(next), scope.create(mask), null, cache, false).logits();
                }
            }
            for (int r = 0; r < left.length; r++) {
                int pads = (int) (t - Arrays.stream(leftMask[r]).sum());
                long[] alone = new long[t - pads + steps];
                System.arraycopy(left[r], pads, alone, 0, t - pads);
                for (int s = 0; s < steps; s++) {
                    alone[t - pads + s] = 10 + s;
                }
                float[] full = model.run(scope.create(new long[][] {alone}), null).logits().toFloatArray();
                for (int s = 0; s <= steps; s++) {
                    int pos = t - pads - 1 + s;
                    assertClose(name + " row " + r + " step " + s, Arrays.copyOfRange(full, pos * v, (pos + 1) * v), batched[r][s]);
                }
            }
        }
    }

    @Test
    void shouldReadTheTransformers4ConfigLayoutToTheSameModel(@TempDir Path tmp) throws Exception {
        Path dir = GoldenFiles.require("llama");
        Path v4 = tmp.resolve("llama-v4");
        Files.createDirectories(v4);
        Files.copy(dir.resolve("config_v4_style.json"), v4.resolve("config.json"));
        Files.copy(dir.resolve("model.safetensors"), v4.resolve("model.safetensors"));
        assertEquals(LlamaConfig.load(dir), LlamaConfig.load(v4), "both layouts parse to the same config");
        Npy ids = Npy.read(dir.resolve("input_ids.npy"));
        Npy mask = Npy.read(dir.resolve("attention_mask.npy"));
        try (CausalLm model = CausalLms.load(v4, Head.NONE, Device.cpu()); NDManager scope = model.newScope()) {
            NDArray logits = model.run(scope.create(ids.longRows()), scope.create(mask.longRows())).logits();
            assertMaskedClose("v4-style logits", Npy.read(dir.resolve("logits.npy")), logits, mask.longs());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2"})
    void shouldLoadBf16ShardsUpcastToFloat32(String name) throws Exception {
        Path dir = GoldenFiles.require(name);
        Path sharded = GoldenFiles.require(name + "/bf16-sharded");
        Npy ids = Npy.read(dir.resolve("input_ids.npy"));
        Npy mask = Npy.read(dir.resolve("attention_mask.npy"));
        try (CausalLm model = CausalLms.load(sharded, Head.NONE, Device.cpu()); NDManager scope = model.newScope()) {
            NDArray logits = model.run(scope.create(ids.longRows()), scope.create(mask.longRows())).logits();
            assertMaskedClose(name + " bf16 logits", Npy.read(sharded.resolve("logits_bf16_weights_fp32_compute.npy")),
                    logits, mask.longs());
        }
    }

    @Test
    void shouldScoreLikeHuggingFacesSequenceClassifier() throws Exception {
        Path dir = GoldenFiles.require("llama-reward");
        Npy rewards = Npy.read(dir.resolve("rewards.npy"));
        Npy values = Npy.read(dir.resolve("values.npy"));
        Npy mask = Npy.read(dir.resolve("attention_mask.npy"));
        try (CausalLm model = CausalLms.load(dir, Head.SCORE, Device.cpu()); NDManager scope = model.newScope()) {
            NDArray ids = scope.create(Npy.read(dir.resolve("input_ids.npy")).longRows());
            NDArray m = scope.create(mask.longRows());
            assertClose("rewards (right padding)", rewards.floats(), model.scores(ids, m).toFloatArray());
            NDArray left = scope.create(Npy.read(dir.resolve("input_ids_left.npy")).longRows());
            NDArray leftMask = scope.create(Npy.read(dir.resolve("attention_mask_left.npy")).longRows());
            assertClose("rewards (left padding)", rewards.floats(), model.scores(left, leftMask).toFloatArray());
            float[] perPosition = ((LlamaModel) model).positionScores(model.run(ids, m).lastHidden()).toFloatArray();
            for (int i = 0; i < perPosition.length; i++) {
                if (mask.longs()[i] == 1) {
                    assertEquals(values.floats()[i], perPosition[i], TOL, "value at " + i);
                }
            }
            assertEquals(null, model.run(ids, m).logits(), "a sequence classifier has no LM head");
        }
    }

    /** Position ids from a mask, as the models derive them. */
    private static final class GptModelPositions {
        static long[][] of(NDArray mask) {
            long[] flat = io.salsa.model.lm.GptTransformer.positionsFromMask(mask, mask.getShape().get(1)).toLongArray();
            int b = (int) mask.getShape().get(0);
            int t = (int) mask.getShape().get(1);
            long[][] out = new long[b][t];
            for (int i = 0; i < b; i++) {
                System.arraycopy(flat, i * t, out[i], 0, t);
            }
            return out;
        }
    }

    private static void assertGradClose(CausalLm model, String param, Npy ref) {
        GoldenAsserts.assertGradClose(param, model.parameters().get(param), ref);
    }

    private static void assertMaskedClose(String what, Npy expected, NDArray actual, long[] mask) {
        assertArrayEquals(expected.shape(), actual.getShape().getShape(), what + " shape");
        assertMaskedClose(what, expected.floats(), actual.toFloatArray(), mask);
    }

    private static void assertMaskedClose(String what, float[] expected, float[] actual, long[] mask) {
        GoldenAsserts.assertMaskedClose(what, expected, actual, mask);
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + " size");
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(max <= TOL, what + ": max |Δ| = " + max + " > " + TOL);
    }
}
