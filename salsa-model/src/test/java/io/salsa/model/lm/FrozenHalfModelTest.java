package io.salsa.model.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import io.salsa.model.GoldenFiles;
import io.salsa.model.generate.Generation;
import io.salsa.model.generate.Generator;
import io.salsa.model.generate.SamplingConfig;
import io.salsa.model.lm.GptModel.Head;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A frozen model loaded at fp16 ({@link CausalLms#loadFrozen}) holds float16 weights, half the bytes of the float32
 * model, and computes exactly what the cast-per-forward fp16 path computes on a float32 model holding the same
 * float16 values: logits, hidden states, token log-probs, values/scores and greedy decoding through the KV cache, bit
 * for bit, on GPT-2 and every Llama-family golden model; in-place writes (hot swap, {@code setWeights}) round the same
 * way; training and a float32 forward are refused.
 */
class FrozenHalfModelTest {

    @ParameterizedTest
    @ValueSource(strings = {"small", "llama", "qwen2", "mistral", "gemma"})
    void frozenFp16ModelHoldsHalfWeightsAndComputesTheCastPerForwardPathBitForBit(String name) throws Exception {
        Path dir = GoldenFiles.require(name);
        try (CausalLm full = CausalLms.load(dir, Head.VALUE, Device.cpu());
             CausalLm frozen = CausalLms.loadFrozen(dir, Head.VALUE, Device.cpu(), Precision.FP16);
             CausalLm rounded = CausalLms.load(dir, Head.VALUE, Device.cpu())) {
            assertEquals(DataType.FLOAT16, frozen.weightType());
            assertEquals(Precision.FP16, frozen.precision());
            assertFalse(frozen.isTrainable());
            for (Map.Entry<String, Parameter> e : frozen.parameters().entrySet()) {
                assertEquals(DataType.FLOAT16, e.getValue().getArray().getDataType(), e.getKey());
            }
            assertEquals(full.parameterCount(), frozen.parameterCount());
            assertEquals(full.weightBytes(), 4 * full.parameterCount());
            assertEquals(full.weightBytes(), 2 * frozen.weightBytes(), "float16 weights are half the float32 bytes");

            // the frozen weights are the float32 ones rounded to float16: exactly PyTorch's cast of them (what the
            // per-forward path computes with), relative error ≤ 2^-11 in the normal range
            int changed = 0;
            for (String t : full.parameters().keySet()) {
                float[] a = full.weights(t);
                float[] h = frozen.weights(t);
                try (NDArray cast16 = full.parameters().get(t).getArray().toType(DataType.FLOAT16, true);
                     NDArray back = cast16.toType(DataType.FLOAT32, true)) {
                    assertArrayEquals(back.toFloatArray(), h, t + ": held values = PyTorch's float16 cast");
                }
                for (int i = 0; i < a.length; i++) {
                    assertTrue(Math.abs(h[i] - a[i]) <= Math.abs(a[i]) * 0x1p-11 + 0x1p-24, t + "[" + i + "]: " + a[i]
                            + " held as " + h[i]);
                    changed += h[i] != a[i] ? 1 : 0;
                }
            }
            assertTrue(changed > 0, "some weights must actually have been rounded to float16");

            // the reference: a float32 model holding the same float16 values, cast to float16 at every forward
            rounded.copyWeightsFrom(frozen);
            rounded.setPrecision(Precision.FP16);
            assertEquals(DataType.FLOAT32, rounded.weightType());
            assertSameOutputs(name, frozen, rounded, GoldenBatch.read(dir));
            assertSameGreedy(name, frozen, rounded, GoldenBatch.read(dir));

            assertThrows(IllegalStateException.class, () -> frozen.setTrainable(true));
            assertThrows(IllegalStateException.class, () -> frozen.setPrecision(Precision.FP32));
            assertEquals(Precision.FP16, frozen.precision());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"small", "llama"})
    void hotSwapIntoAFrozenFp16ModelRoundsInPlaceAndKeepsTheArrays(String name, @TempDir Path tmp) throws Exception {
        Path dir = GoldenFiles.require(name);
        Path next = tmp.resolve("next");
        try (CausalLm full = CausalLms.load(dir, Head.NONE, Device.cpu())) {
            // a "new policy version": every weight moved, saved as a float32 folder
            for (String t : full.parameters().keySet()) {
                float[] w = full.weights(t);
                for (int i = 0; i < w.length; i++) {
                    w[i] = w[i] * 0.75f + 0.001f * (i % 7);
                }
                full.setWeights(t, w);
            }
            full.save(next);
        }
        try (CausalLm frozen = CausalLms.loadFrozen(dir, Head.NONE, Device.cpu(), Precision.FP16);
             CausalLm rounded = CausalLms.load(next, Head.NONE, Device.cpu());
             CausalLm target = CausalLms.loadFrozen(next, Head.NONE, Device.cpu(), Precision.FP16)) {
            Map<String, NDArray> before = new HashMap<>();
            frozen.parameters().forEach((k, p) -> before.put(k, p.getArray()));
            float[] oldFirst = frozen.weights(frozen.parameters().keySet().iterator().next());
            frozen.loadWeights(next);
            frozen.parameters().forEach((k, p) -> {
                assertSame(before.get(k), p.getArray(), k + " keeps its identity");
                assertEquals(DataType.FLOAT16, p.getArray().getDataType(), k);
                assertArrayEquals(target.weights(k), frozen.weights(k), k + ": hot swap = fresh frozen load");
            });
            assertNotEquals(oldFirst[0], frozen.weights(frozen.parameters().keySet().iterator().next())[0]);
            rounded.copyWeightsFrom(frozen);
            rounded.setPrecision(Precision.FP16);
            assertSameOutputs(name + " after hot swap", frozen, rounded, GoldenBatch.read(dir));

            // a frozen model saves float32 values of what it holds; loading that folder gives the same model back
            Path saved = tmp.resolve("saved");
            frozen.save(saved);
            try (CausalLm back = CausalLms.loadFrozen(saved, Head.NONE, Device.cpu(), Precision.FP16)) {
                for (String k : frozen.parameters().keySet()) {
                    assertArrayEquals(frozen.weights(k), back.weights(k), k);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"small", "llama-reward"})
    void frozenFp16RewardModelScoresLikeTheCastPerForwardPath(String name) throws Exception {
        Path dir = GoldenFiles.require(name);
        try (CausalLm frozen = CausalLms.loadFrozen(dir, Head.SCORE, Device.cpu(), Precision.FP16);
             CausalLm rounded = CausalLms.load(dir, Head.SCORE, Device.cpu())) {
            frozen.parameters().values().forEach(p -> assertEquals(DataType.FLOAT16, p.getArray().getDataType()));
            rounded.copyWeightsFrom(frozen);
            rounded.setPrecision(Precision.FP16);
            long[][] ids = Npy.read(dir.resolve("input_ids.npy")).longRows();
            long[][] mask = Npy.read(dir.resolve("attention_mask.npy")).longRows();
            try (NDManager a = frozen.newScope(); NDManager b = rounded.newScope()) {
                float[] s1 = frozen.scores(a.create(ids), a.create(mask)).toFloatArray();
                float[] s2 = rounded.scores(b.create(ids), b.create(mask)).toFloatArray();
                assertArrayEquals(s2, s1, name + " scores");
            }
        }
    }

    @Test
    void frozenFp32ModelIsTheFloat32ModelWithGradientsOff() throws Exception {
        Path dir = GoldenFiles.require("llama");
        try (CausalLm frozen = CausalLms.loadFrozen(dir, Head.NONE, Device.cpu(), Precision.FP32);
             CausalLm full = CausalLms.load(dir, Head.NONE, Device.cpu())) {
            assertEquals(DataType.FLOAT32, frozen.weightType());
            assertFalse(frozen.isTrainable());
            assertEquals(full.weightBytes(), frozen.weightBytes());
            assertSameOutputs("llama fp32", frozen, full, GoldenBatch.read(dir));
        }
    }

    /** Every output of one forward (with hidden states) and the token log-probs, compared exactly. */
    private static void assertSameOutputs(String name, CausalLm a, CausalLm b, GoldenBatch batch) {
        long managedBefore = a.manager().getManagedArrays().size();
        try (NDManager sa = a.newScope(); NDManager sb = b.newScope()) {
            NDArray idsA = sa.create(batch.ids().longRows());
            NDArray idsB = sb.create(batch.ids().longRows());
            GptOutput oa = a.run(idsA, sa.create(batch.mask().longRows()), null, null, true);
            GptOutput ob = b.run(idsB, sb.create(batch.mask().longRows()), null, null, true);
            assertEquals(DataType.FLOAT32, oa.logits().getDataType());
            assertArrayEquals(ob.logits().toFloatArray(), oa.logits().toFloatArray(), name + " logits");
            assertArrayEquals(ob.lastHidden().toFloatArray(), oa.lastHidden().toFloatArray(), name + " last hidden");
            assertEquals(ob.hiddenStates().size(), oa.hiddenStates().size());
            for (int i = 0; i < oa.hiddenStates().size(); i++) {
                assertEquals(DataType.FLOAT32, oa.hiddenStates().get(i).getDataType());
                assertArrayEquals(ob.hiddenStates().get(i).toFloatArray(), oa.hiddenStates().get(i).toFloatArray(),
                        name + " hidden state " + i);
            }
            if (a.head() == Head.VALUE) {
                assertArrayEquals(ob.values().toFloatArray(), oa.values().toFloatArray(), name + " values");
            }
            assertArrayEquals(b.tokenLogProbs(idsB, sb.create(batch.mask().longRows())).toFloatArray(),
                    a.tokenLogProbs(idsA, sa.create(batch.mask().longRows())).toFloatArray(), name + " token log-probs");
        }
        assertEquals(managedBefore, a.manager().getManagedArrays().size(),
                "widened weights and embeddings belong to the step scope, not to the model");
    }

    /** Greedy decoding of each golden row's first half through the KV cache: the same tokens and log-probs. */
    private static void assertSameGreedy(String name, CausalLm a, CausalLm b, GoldenBatch batch) {
        long[][] ids = batch.ids().longRows();
        long[][] mask = batch.mask().longRows();
        List<int[]> prompts = new ArrayList<>();
        for (int r = 0; r < ids.length; r++) {
            int real = 0;
            for (long m : mask[r]) {
                real += (int) m;
            }
            int[] p = new int[Math.max(1, real / 2)];
            for (int i = 0; i < p.length; i++) {
                p[i] = (int) ids[r][i];
            }
            prompts.add(p);
        }
        SamplingConfig greedy = SamplingConfig.greedy(6);
        List<Generation> ga = new Generator(a).generate(prompts, greedy, 7L);
        List<Generation> gb = new Generator(b).generate(prompts, greedy, 7L);
        for (int i = 0; i < ga.size(); i++) {
            assertArrayEquals(gb.get(i).tokens(), ga.get(i).tokens(), name + " greedy tokens of row " + i);
            assertArrayEquals(gb.get(i).logProbs(), ga.get(i).logProbs(), name + " greedy log-probs of row " + i);
        }
    }
}
