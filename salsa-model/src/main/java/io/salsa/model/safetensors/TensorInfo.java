package io.salsa.model.safetensors;

import java.util.Arrays;

/**
 * One header entry of a safetensors file: where a tensor's bytes live and how to read them.
 *
 * @param name  the tensor's name ({@code transformer.h.0.attn.c_attn.weight})
 * @param dtype the element type
 * @param shape the dimensions, outermost first (a scalar has none)
 * @param begin first byte, relative to the start of the data section
 * @param end   one past the last byte, relative to the start of the data section
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements: the product of the shape (1 for a scalar). */
    public long numel() {
        return numel(shape);
    }

    /** Bytes the data range covers. */
    public long byteLength() {
        return end - begin;
    }

    /** Product of dimensions, refusing overflow. */
    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Whether two tensors have the same dimensions. */
    public boolean sameShape(TensorInfo other) {
        return Arrays.equals(shape, other.shape);
    }

    /** The shape as {@code [32, 96]}. */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return (name.hashCode() * 31 + dtype.hashCode()) * 31 + Arrays.hashCode(shape) + Long.hashCode(begin);
    }

    @Override
    public String toString() {
        return name + " " + dtype + shapeString() + " [" + begin + ", " + end + ")";
    }
}
