package io.salsa.model.soup;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Bf16Average}'s loop on SIMD registers (Java 17's incubating Vector API). Loaded only when
 * {@link Bf16Average#VECTOR} says the module is there.
 *
 * <p>Each int lane holds two neighbouring bf16 elements, as the little-endian bytes lay them out: the low half is
 * the even element, the high half the odd one. Widening is then a shift ({@code << 16}) or a mask
 * ({@code & 0xffff0000}) and a reinterpretation as float, narrowing the reverse, so every step is one lane-wise
 * operation of the same width and the two halves are averaged as two float vectors.
 */
final class Bf16Vectors {

    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Bf16Vectors() {
    }

    /**
     * Averages as many of the {@code n} elements as fill whole vectors and returns how many that was (even, at most
     * {@code n}); the caller does the rest.
     */
    static int average(ByteBuffer[] in, float[] weights, ByteBuffer out, int n) {
        int step = INTS.vectorByteSize();
        int end = 2 * n - (2 * n) % step;
        if (in.length == 2) {
            two(in[0], in[1], weights[0], weights[1], out, end, step);
        } else {
            any(in, weights, out, end, step);
        }
        return end / 2;
    }

    private static void two(ByteBuffer a, ByteBuffer b, float wa, float wb, ByteBuffer out, int end, int step) {
        for (int i = 0; i < end; i += step) {
            IntVector x = IntVector.fromByteBuffer(INTS, a, i, LE);
            IntVector y = IntVector.fromByteBuffer(INTS, b, i, LE);
            FloatVector even = low(x).mul(wa).add(low(y).mul(wb));
            FloatVector odd = high(x).mul(wa).add(high(y).mul(wb));
            pack(even, odd).intoByteBuffer(out, i, LE);
        }
    }

    private static void any(ByteBuffer[] in, float[] weights, ByteBuffer out, int end, int step) {
        for (int i = 0; i < end; i += step) {
            IntVector x = IntVector.fromByteBuffer(INTS, in[0], i, LE);
            FloatVector even = low(x).mul(weights[0]);
            FloatVector odd = high(x).mul(weights[0]);
            for (int m = 1; m < in.length; m++) {
                x = IntVector.fromByteBuffer(INTS, in[m], i, LE);
                even = even.add(low(x).mul(weights[m]));
                odd = odd.add(high(x).mul(weights[m]));
            }
            pack(even, odd).intoByteBuffer(out, i, LE);
        }
    }

    /** The even elements (low halves) widened to float. */
    private static FloatVector low(IntVector pairs) {
        return pairs.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** The odd elements (high halves) widened to float. */
    private static FloatVector high(IntVector pairs) {
        return pairs.and(0xffff0000).reinterpretAsFloats();
    }

    /** Both halves rounded to bf16 and put back side by side. */
    private static IntVector pack(FloatVector even, FloatVector odd) {
        return round(even.reinterpretAsInts()).or(round(odd.reinterpretAsInts()).lanewise(VectorOperators.LSHL, 16));
    }

    /** float bits to bf16 bits in the low half: {@code Halfs.floatToBf16}, lane-wise. */
    private static IntVector round(IntVector bits) {
        IntVector top = bits.lanewise(VectorOperators.LSHR, 16);
        IntVector rounded = bits.add(top.and(1)).add(0x7fff).lanewise(VectorOperators.LSHR, 16);
        VectorMask<Integer> nan = bits.and(0x7fffffff).compare(VectorOperators.GT, 0x7f800000);
        return rounded.blend(top.or(0x40), nan);
    }
}
