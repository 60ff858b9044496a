package io.salsa.model.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import io.salsa.model.GoldenFiles;
import io.salsa.model.train.LmLoss;
import java.nio.file.Path;
import java.util.HashMap;
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
        Map<String, float[]> fp32 = gradients(golden, Precision.FP32);
        Map<String, float[]> fp16 = gradients(golden, Precision.FP16);
        for (Map.Entry<String, float[]> e : fp32.entrySet()) {
            float[] ref = e.getValue();
            float[] got = fp16.get(e.getKey());
            double norm = 0;
            double diff = 0;
            double gotNorm = 0;
            for (int i = 0; i < ref.length; i++) {
                norm += (double) ref[i] * ref[i];
                gotNorm += (double) got[i] * got[i];
                diff += (double) (got[i] - ref[i]) * (got[i] - ref[i]);
            }
            assertTrue(gotNorm > 0, e.getKey() + " received no gradient in fp16 (a cast cut the graph)");
            double rel = Math.sqrt(diff) / Math.sqrt(norm);
            assertTrue(rel <= GRAD_REL_TOL, e.getKey() + ": relative gradient error " + rel + " > " + GRAD_REL_TOL);
        }
    }

    /** Gradients of next-token cross-entropy plus a value-head term, so every parameter (head included) gets one. */
    private static Map<String, float[]> gradients(Golden golden, Precision precision) throws Exception {
        try (GptModel model = GptModel.load(golden.dir(), GptModel.Head.VALUE, Device.cpu());
             NDManager scope = model.newScope()) {
            model.setPrecision(precision);
            model.setTrainable(true);
            NDArray idArr = scope.create(golden.ids().longRows());
            NDArray maskArr = scope.create(golden.mask().longRows());
            NDArray tm = scope.create(golden.tokenMask().floats(), new Shape(golden.tokenMask().shape()));
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                GptModel.PolicyOutput out = model.policyForward(idArr, maskArr);
                NDArray ce = LmLoss.maskedMean(out.logProbs().neg(), tm);
                NDArray valueTerm = LmLoss.maskedMean(out.values().mul(out.values()), tm);
                gc.backward(ce.add(valueTerm));
            }
            Map<String, float[]> grads = new HashMap<>();
            for (Map.Entry<String, Parameter> e : model.parameters().entrySet()) {
                grads.put(e.getKey(), e.getValue().getArray().getGradient().toFloatArray());
            }
            return grads;
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
