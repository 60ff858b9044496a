package io.salsa.model.safetensors;

import java.util.Arrays;

/**
 * A tensor the {@link SafeTensorsWriter} will hold, declared up front because the header (with every byte range)
 * precedes the data.
 *
 * @param name  tensor name
 * @param shape dimensions, outermost first
 */
public record TensorSpec(String name, long[] shape) {

    public TensorSpec {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("tensor name must not be empty");
        }
        if (SafeTensors.METADATA_KEY.equals(name)) {
            throw new IllegalArgumentException("tensor name " + name + " is reserved for the header metadata");
        }
        shape = shape.clone();
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': negative dimension in " + Arrays.toString(shape));
            }
        }
    }

    /** Convenience for {@code int} shapes. */
    public static TensorSpec of(String name, int... shape) {
        return new TensorSpec(name, Arrays.stream(shape).asLongStream().toArray());
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements. */
    public long numel() {
        return TensorInfo.numel(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec s && name.equals(s.name) && Arrays.equals(shape, s.shape);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
