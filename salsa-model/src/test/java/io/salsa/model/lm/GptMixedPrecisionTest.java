package io.salsa.model.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.salsa.model.GoldenFiles;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * fp16 mixed precision ({@link Precision#FP16}) on CPU: the forward stays within half-precision error of Hugging
 * Face's float32 outputs, every weight receives a gradient through the differentiable casts, and the gradients
 * match the float32 ones to half-precision accuracy.
 */
class GptMixedPrecisionTest {

    /** Max |Δ| of logits and token log-probs vs float32 (measured on golden "small": 3.2e-3 and 1.8e-3). */
    private static final double FORWARD_TOL = 1e-2;
    /** Max relative L2 error of each parameter's gradient vs float32 (measured: at most 1.8e-3). */
    private static final double GRAD_REL_TOL = 1e-2;

    /** The golden "small" model folder and its batch. */
    private record Golden(Path dir, Npy ids, Npy mask, Npy tokenMask) {
        static Golden small() throws java.io.IOException {
            Path dir = GoldenFiles.require("small");
            return new Golden(dir, Npy.read(dir.resolve("input_ids.npy")), Npy.read(dir.resolve("attention_mask.npy")),
                    Npy.read(dir.resolve("token_mask.npy")));
        }
    }

    @Test
    void fp16ForwardMatchesHuggingFaceFloat32WithinHalfPrecisionError() throws Exception {
        Golden golden = Golden.small();
        Path dir = golden.dir();
        Npy ids = golden.ids();
        Npy mask = golden.mask();
        Npy tokenMask = golden.tokenMask();
        Npy logits = Npy.read(dir.resolve("logits.npy"));
        Npy lp = Npy.read(dir.resolve("token_logprobs.npy"));
        try (GptModel model = GptModel.load(dir, GptModel.Head.VALUE, Device.cpu())) {
            model.setPrecision(Precision.FP16);
            long managedBefore = model.manager().getManagedArrays().size();
            NDManager scope = model.newScope();
            NDArray idArr = scope.create(ids.longRows());
            NDArray maskArr = scope.create(mask.longRows());
            GptOutput out = model.forward(idArr, maskArr);
            assertEquals(DataType.FLOAT32, out.logits().getDataType(), "logits come out float32");
            assertEquals(DataType.FLOAT32, out.values().getDataType(), "values come out float32");
            float[] ours = out.logits().toFloatArray();
            int v = model.config().vocabSize();
            double maxLogit = 0;
            long[] m = mask.longs();
            for (int p = 0; p < m.length; p++) {
                for (int k = 0; m[p] == 1 && k < v; k++) {
                    maxLogit = Math.max(maxLogit, Math.abs(ours[p * v + k] - logits.floats()[p * v + k]));
                }
            }
            assertTrue(maxLogit > 0, "the fp16 path must actually run in float16 (identical to float32 is suspicious)");
            assertTrue(maxLogit <= FORWARD_TOL, "logits: max |Δ| " + maxLogit + " > " + FORWARD_TOL);
            float[] ourLp = GptModel.logProbsOfNext(out.logits(), idArr).toFloatArray();
            double maxLp = 0;
            for (int i = 0; i < ourLp.length; i++) {
                if (tokenMask.floats()[i] == 1f) {
                    maxLp = Math.max(maxLp, Math.abs(ourLp[i] - lp.floats()[i]));
                }
            }
            assertTrue(maxLp <= FORWARD_TOL, "token log-probs: max |Δ| " + maxLp + " > " + FORWARD_TOL);
            scope.close();
            assertEquals(managedBefore, model.manager().getManagedArrays().size(),
                    "the float16 weight copies belong to the step scope, not to the model");
        }
    }

    @Test
    void fp16GradientsReachEveryWeightAndMatchFloat32() throws Exception {
        Golden golden = Golden.small();
        PolicyGradients.assertClose(gradients(golden, Precision.FP32), gradients(golden, Precision.FP16), GRAD_REL_TOL);
    }

    private static Map<String, float[]> gradients(Golden golden, Precision precision) throws Exception {
        try (GptModel model = GptModel.load(golden.dir(), GptModel.Head.VALUE, Device.cpu())) {
            return PolicyGradients.of(model, precision, golden.ids().longRows(), golden.mask().longRows(),
                    golden.tokenMask());
        }
    }

    @Test
    void fp16KeyValueCacheGivesTheFullForwardsLogits() {
        GptConfig config = GptConfig.of(2, 2, 32, 50, 16, 0, 0);
        try (GptModel model = GptModel.random(config, GptModel.Head.NONE, 3, Device.cpu());
             NDManager scope = model.newScope()) {
            model.setPrecision(Precision.FP16);
            NDArray ids = scope.create(new long[][] {{5, 9, 2, 7, 11, 3}});
            float[] full = model.forward(ids, null).logits().get(new NDIndex(":, -1, :")).toFloatArray();
            try (KvCache cache = new KvCache(scope, config.nLayer())) {
                model.forward(ids.get(new NDIndex(":, :5")), scope.ones(new Shape(1, 5), DataType.INT64), null, cache, false);
                NDArray last = model.forward(ids.get(new NDIndex(":, 5:")), scope.ones(new Shape(1, 6), DataType.INT64),
                        null, cache, false).logits();
                float[] step = last.get(new NDIndex(":, -1, :")).toFloatArray();
                for (int i = 0; i < full.length; i++) {
                    assertEquals(full[i], step[i], 1e-3, "logit " + i);
                }
            }
        }
    }
}
