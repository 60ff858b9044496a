package io.salsa.schemas;

import java.util.ArrayList;
import java.util.List;

/** Primitive arrays as the boxed lists Avro's generated classes take for {@code array<int>} / {@code array<float>}. */
public final class AvroArrays {

    private AvroArrays() {
    }

    /** {@code a} as a list, in order (token ids). */
    public static List<Integer> ints(int[] a) {
        List<Integer> out = new ArrayList<>(a.length);
        for (int v : a) {
            out.add(v);
        }
        return out;
    }

    /** {@code a} as a list, in order (log-probs). */
    public static List<Float> floats(float[] a) {
        List<Float> out = new ArrayList<>(a.length);
        for (float v : a) {
            out.add(v);
        }
        return out;
    }
}
