package io.salsa.model.soup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.model.safetensors.Halfs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The soup's bf16 loop on SIMD registers gives, element for element, the bits of the float path it replaces: widen
 * with {@link Halfs#bf16ToFloats}, {@code s = w1·x1; s += wk·xk} in float32, narrow with {@link Halfs#floatsToBf16}.
 * Inputs mix every kind of bit pattern (NaNs, infinities, subnormals, signed zeros) with values whose averages fall
 * on rounding ties; lengths are odd and shorter than a vector too, so the scalar tail is covered. Where several
 * members hold a NaN at one element (or one holds a NaN and two others opposite infinities), Java's float arithmetic does not say whose payload the result keeps (it depends
 * on the JIT's operand order, in the float path too): it must then be one of them, made quiet.
 */
class Bf16AverageTest {

    @Test
    void theVectorModuleShouldBeInUseInTheseTests() {
        assertTrue(Bf16Average.VECTOR, "salsa-model's tests run with --add-modules jdk.incubator.vector (surefire"
                + " argLine), so the vector kernel is what they check");
    }

    @Test
    void twoMembersUniformAndWeightedShouldEqualTheFloatPath() {
        check(new float[] {0.5f, 0.5f}, 65_536, 1);
        check(new float[] {(float) (1 / 3.0), (float) (2 / 3.0)}, 65_535, 2);
        check(new float[] {0.5f, 0.5f}, 7, 3);
    }

    @Test
    void threeAndFiveMembersShouldEqualTheFloatPath() {
        check(new float[] {(float) (1 / 7.0), (float) (2 / 7.0), (float) (4 / 7.0)}, 10_001, 4);
        check(new float[] {0.2f, 0.2f, 0.2f, 0.2f, 0.2f}, 4_099, 5);
        check(new float[] {0.25f, 0.25f, 0.5f}, 1, 6);
    }

    private static void check(float[] w, int n, long seed) {
        Random random = new Random(seed);
        ByteBuffer[] in = new ByteBuffer[w.length];
        short[][] bits = new short[w.length][n];
        for (int m = 0; m < w.length; m++) {
            in[m] = ByteBuffer.allocateDirect(2 * n + 64).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                bits[m][i] = pattern(random);
                in[m].putShort(2 * i, bits[m][i]);
            }
        }
        ByteBuffer out = ByteBuffer.allocateDirect(2 * n + 64).order(ByteOrder.LITTLE_ENDIAN);
        Bf16Average.average(in, w, out, n);

        float[] acc = new float[n];
        float[] x = new float[n];
        for (int m = 0; m < w.length; m++) {
            Halfs.bf16ToFloats(bits[m], x, 0, n);
            for (int i = 0; i < n; i++) {
                acc[i] = m == 0 ? w[0] * x[i] : acc[i] + w[m] * x[i];
            }
        }
        short[] expected = new short[n];
        Halfs.floatsToBf16(acc, 0, expected, n);
        for (int i = 0; i < n; i++) {
            short got = out.getShort(2 * i);
            int index = i;
            java.util.Set<Short> nans = new java.util.HashSet<>();
            int special = 0;
            for (short[] b : bits) {
                if ((b[i] & 0x7fff) > 0x7f80) {
                    nans.add((short) (b[i] | 0x40));
                }
                special += (b[i] & 0x7fff) >= 0x7f80 ? 1 : 0;
            }
            if (!nans.isEmpty() && special > 1) {
                nans.add((short) 0xffc0); // the NaN x86 makes of inf - inf
                // several NaNs meet (or one meets an inf - inf): Java leaves which payload survives to the hardware (and the JIT's operand order),
                // for the float path as for this one; it must be one of them, quiet
                assertTrue(nans.contains(got), () -> "element " + index + ": " + String.format("%04x", got & 0xffff)
                        + " is none of the quiet NaNs of inputs " + inputs(bits, index));
            } else {
                assertEquals(expected[i], got, () -> "element " + index + " of " + n + ": inputs " + inputs(bits, index));
            }
        }
        for (int m = 0; m < w.length; m++) {
            assertEquals(0, in[m].position(), "inputs are read with absolute indices");
        }
    }

    /** Mostly ordinary values with few mantissa bits (ties when averaged), some special patterns. */
    private static short pattern(Random r) {
        return switch (r.nextInt(12)) {
            case 0 -> (short) r.nextInt(1 << 16); // anything: NaNs with payloads, infinities, subnormals
            case 1 -> (short) (0x7f80 | (r.nextBoolean() ? 0x8000 : 0) | r.nextInt(0x80)); // inf / NaN
            case 2 -> (short) ((r.nextBoolean() ? 0x8000 : 0) | r.nextInt(0x80)); // zero / subnormal
            case 3 -> (short) (r.nextBoolean() ? 0x8000 : 0); // signed zero
            case 4 -> Halfs.floatToBf16(Float.MAX_VALUE * (r.nextBoolean() ? 1 : -1));
            default -> Halfs.floatToBf16((float) r.nextGaussian() * (1 << r.nextInt(8)));
        };
    }

    private static String inputs(short[][] bits, int i) {
        StringBuilder s = new StringBuilder();
        for (short[] b : bits) {
            s.append(String.format("%04x ", b[i] & 0xffff));
        }
        return s.toString().trim();
    }
}
