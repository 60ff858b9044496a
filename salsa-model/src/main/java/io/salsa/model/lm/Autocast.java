package io.salsa.model.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Dtype casts for fp16 mixed precision that keep the autograd graph intact. DJL 0.36's {@code toType} cannot be
 * used on the autograd path: its JNI ({@code torchTo}) runs under a {@code NoGradGuard}, so a weight or activation
 * cast with it silently receives no gradient (a loss built only from such casts fails with "element 0 of tensors
 * does not require grad"). While a {@code GradientCollector} records, the downcast is PyTorch's
 * {@code cumprod(dim, dtype)} over an added axis of length 1: the identity with a cast that autograd records
 * (backward is the incoming gradient converted back to float32, exactly what torch.autocast's cast does). The
 * upcast is type promotion against a float32 zero of shape [1], also recorded and cheap.
 */
public final class Autocast {

    private Autocast() {
    }

    /** {@code x} as float16, owned by {@code x}'s manager. */
    public static NDArray half(NDArray x) {
        return half(x, x.getManager());
    }

    /**
     * {@code x} as float16, created in {@code owner} (pass the step's manager when {@code x} is a weight, so the
     * copy is freed with the step and not kept by the model's manager). Differentiable while gradients are
     * recorded; a plain (faster) {@code toType} otherwise, e.g. for the reference model and generation.
     */
    public static NDArray half(NDArray x, NDManager owner) {
        if (x.getDataType() == DataType.FLOAT16) {
            return x;
        }
        if (!JniUtils.isGradMode()) {
            NDArray cast = x.toType(DataType.FLOAT16, false);
            cast.attach(owner);
            return cast;
        }
        NDArray column = x.expandDims(-1);
        column.attach(owner);
        return column.cumProd(-1, DataType.FLOAT16).squeeze(-1);
    }

    /** {@code x} as float32 (promotion against a float32 zero of shape [1], recorded by autograd). */
    public static NDArray toFloat32(NDArray x) {
        if (x.getDataType() == DataType.FLOAT32) {
            return x;
        }
        return x.add(x.getManager().zeros(new Shape(1), DataType.FLOAT32));
    }

    /**
     * A weight held in float16 (a frozen fp16 model, {@link CausalLms#loadFrozen}) widened exactly to float32 in
     * {@code owner} (the step's manager, so the copy is freed with the step); a float32 array is returned as is.
     * Not differentiable: frozen weights take no gradient.
     */
    public static NDArray toFloat32(NDArray x, NDManager owner) {
        if (x.getDataType() == DataType.FLOAT32) {
            return x;
        }
        NDArray wide = x.toType(DataType.FLOAT32, false);
        wide.attach(owner);
        return wide;
    }
}
