package io.salsa.model.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Scalar constants for arithmetic on the autograd path. DJL 0.36's {@code mul(Number)}, {@code div(Number)},
 * {@code add(Number)}, {@code pow(Number)}, {@code clip(Number, Number)} … wrap the number in a tensor over a
 * Java direct buffer and close it right after the op; autograd still holds that tensor for the backward pass,
 * and once the garbage collector frees the buffer the gradients read garbage (random NaN). A scalar made here
 * is filled by PyTorch itself ({@code torch.full}) and lives in the caller's scope, so it is safe.
 */
public final class Scalars {

    private Scalars() {
    }

    /** A 0-d tensor holding {@code value}, same dtype and manager (hence device and scope) as {@code like}. */
    public static NDArray of(NDArray like, double value) {
        return like.getManager().full(new Shape(), (float) value, like.getDataType());
    }
}
