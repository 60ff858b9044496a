package io.salsa.model.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.LayerNorm;

/**
 * Small numeric pieces every GPT-2 block shares, kept in one place so the maths reads like {@code gpt2_ref.py};
 * the parameter factory and the tanh GELU are public because the Llama-family decoder uses them too.
 */
public final class GptLayers {

    /** sqrt(2 / pi), the constant of GPT-2's tanh GELU. */
    private static final double GELU_C = Math.sqrt(2.0 / Math.PI);

    private GptLayers() {
    }

    /** A float32 parameter of the given shape, zero-filled, owned by {@code manager}. */
    public static Parameter parameter(NDManager manager, String name, Parameter.Type type, long... shape) {
        return parameter(manager, name, type, DataType.FLOAT32, shape);
    }

    /**
     * A zero-filled parameter of {@code dtype} (float32, or float16 for an inference-only model that holds its
     * weights in half precision, see {@link CausalLms#loadFrozen}), owned by {@code manager}.
     */
    public static Parameter parameter(NDManager manager, String name, Parameter.Type type, DataType dtype,
            long... shape) {
        NDArray array = manager.zeros(new Shape(shape), dtype);
        return Parameter.builder().setName(name).setType(type).optArray(array).build();
    }

    /**
     * LayerNorm over the last axis in float32; the result lives with {@code x}. Weights held in float16 (a frozen
     * fp16 model) are widened exactly into the step's scope first.
     */
    static NDArray layerNorm(NDArray x, Parameter weight, Parameter bias, double eps) {
        NDManager step = x.getManager();
        NDList out = LayerNorm.layerNorm(x, new Shape(x.getShape().getShape()[x.getShape().dimension() - 1]),
                Autocast.toFloat32(weight.getArray(), step), Autocast.toFloat32(bias.getArray(), step), (float) eps);
        return out.singletonOrThrow();
    }

    /** GPT-2's Conv1D: {@code x · W + b} with {@code W} stored [in, out]. */
    static NDArray conv1d(NDArray x, Parameter weight, Parameter bias) {
        return x.matMul(weight.getArray()).addi(bias.getArray());
    }

    /** Conv1D in {@code precision}: under FP16 input, weight and bias are cast to float16 and so is the result. */
    static NDArray conv1d(NDArray x, Parameter weight, Parameter bias, Precision precision) {
        if (precision == Precision.FP32) {
            return conv1d(x, weight, bias);
        }
        NDManager step = x.getManager();
        return Autocast.half(x).matMul(Autocast.half(weight.getArray(), step))
                .addi(Autocast.half(bias.getArray(), step));
    }

    /** {@code gelu_new}: 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))). */
    public static NDArray geluNew(NDArray x) {
        // tensor constants (Scalars), not Numbers: autograd keeps them for the backward pass; no in-place op
        // on tanh's output for the same reason
        NDArray cube = x.mul(x).mul(x);
        NDArray inner = cube.mul(Scalars.of(x, 0.044715)).add(x).mul(Scalars.of(x, GELU_C));
        return inner.tanh().add(Scalars.of(x, 1.0)).mul(x).mul(Scalars.of(x, 0.5));
    }
}
