package io.salsa.model.lm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import io.salsa.model.train.LmLoss;
import java.util.HashMap;
import java.util.Map;

/**
 * The gradients of a policy loss in one precision and their comparison with float32's, so the mixed-precision tests of
 * every family check the differentiable casts the same way.
 */
public final class PolicyGradients {

    private PolicyGradients() {
    }

    /**
     * Gradients of next-token cross-entropy plus a value-head term (so every parameter, head included, gets one) of a
     * {@link GptModel.Head#VALUE} model in {@code precision} on a batch, by parameter name.
     */
    public static Map<String, float[]> of(CausalLm model, Precision precision, long[][] ids, long[][] mask,
                                          Npy tokenMask) {
        try (NDManager scope = model.newScope()) {
            model.setPrecision(precision);
            model.setTrainable(true);
            NDArray tm = scope.create(tokenMask.floats(), new Shape(tokenMask.shape()));
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                GptModel.PolicyOutput out = model.policyForward(scope.create(ids), scope.create(mask));
                NDArray ce = LmLoss.maskedMean(out.logProbs().neg(), tm);
                gc.backward(ce.add(LmLoss.maskedMean(out.values().mul(out.values()), tm)));
            }
            Map<String, float[]> grads = new HashMap<>();
            for (Map.Entry<String, Parameter> e : model.parameters().entrySet()) {
                grads.put(e.getKey(), e.getValue().getArray().getGradient().toFloatArray());
            }
            return grads;
        }
    }

    /** Every parameter received a gradient in {@code half}, within {@code relTol} relative L2 of {@code full}'s. */
    public static void assertClose(Map<String, float[]> full, Map<String, float[]> half, double relTol) {
        for (Map.Entry<String, float[]> e : full.entrySet()) {
            float[] ref = e.getValue();
            float[] got = half.get(e.getKey());
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
            assertTrue(rel <= relTol, e.getKey() + ": relative gradient error " + rel + " > " + relTol);
        }
    }
}
