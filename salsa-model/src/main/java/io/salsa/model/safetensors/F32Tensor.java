package io.salsa.model.safetensors;

import java.util.Arrays;

/**
 * A float tensor held in memory, for the small files (tests, heads, optimiser state) where streaming is not worth it.
 *
 * @param shape dimensions, outermost first
 * @param data  row-major elements; its length is the product of the shape
 */
public record F32Tensor(long[] shape, float[] data) {

    public F32Tensor {
        shape = shape.clone();
        if (TensorInfo.numel(shape) != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + TensorInfo.numel(shape)
                    + " elements, data has " + data.length);
        }
    }

    /** Convenience for {@code int} shapes. */
    public static F32Tensor of(float[] data, int... shape) {
        return new F32Tensor(Arrays.stream(shape).asLongStream().toArray(), data);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof F32Tensor t && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(shape) * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "F32Tensor" + Arrays.toString(shape);
    }
}
