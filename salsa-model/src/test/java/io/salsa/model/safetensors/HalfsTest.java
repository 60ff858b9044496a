package io.salsa.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Narrowing float to bfloat16 / binary16 against a slow statement of round-to-nearest, ties to even. */
class HalfsTest {

    @Test
    void floatToBf16ShouldRoundToNearestEvenLikeTheDefinition() {
        for (int b = 0; b < 0x7f80; b++) {
            // the exact midpoint between bf16 patterns b and b + 1, and the floats right next to it
            float mid = Float.intBitsToFloat((b << 16) | 0x8000);
            for (float f : new float[] {mid, Math.nextUp(mid), Math.nextDown(mid), Float.intBitsToFloat(b << 16)}) {
                assertBf16(f);
                assertBf16(-f);
            }
        }
        Random rng = new Random(7);
        for (int i = 0; i < 200_000; i++) {
            assertBf16(Float.intBitsToFloat(rng.nextInt()));
        }
        assertEquals((short) 0x7f80, Halfs.floatToBf16(Float.POSITIVE_INFINITY));
        assertEquals((short) 0x7f80, Halfs.floatToBf16(Float.MAX_VALUE), "past the largest bf16: infinity");
        assertTrue(Float.isNaN(Halfs.bf16ToFloat(Halfs.floatToBf16(Float.NaN))));
        assertTrue(Float.isNaN(Halfs.bf16ToFloat(Halfs.floatToBf16(Float.intBitsToFloat(0x7f800001)))),
                "a NaN whose payload sits in the dropped bits stays a NaN");
    }

    @Test
    void floatToF16ShouldRoundToNearestEvenLikeTheDefinitionIncludingSubnormals() {
        for (int h = 0; h < 0x7bff; h++) {
            float lo = Halfs.f16ToFloat((short) h);
            float mid = (float) ((lo + (double) Halfs.f16ToFloat((short) (h + 1))) / 2); // exact in float
            for (float f : new float[] {lo, mid, Math.nextUp(mid), Math.nextDown(mid)}) {
                assertF16(f);
                assertF16(-f);
            }
        }
        Random rng = new Random(11);
        for (int i = 0; i < 200_000; i++) {
            assertF16((float) (rng.nextGaussian() * Math.pow(2, rng.nextInt(40) - 26)));
            assertF16(Float.intBitsToFloat(rng.nextInt()));
        }
        assertEquals((short) 0x7bff, Halfs.floatToF16(65519.99f), "just under the halfway point: the largest half");
        assertEquals((short) 0x7c00, Halfs.floatToF16(65520f), "the halfway point ties to even: infinity");
        assertEquals((short) 0xfc00, Halfs.floatToF16(Float.NEGATIVE_INFINITY));
        assertEquals((short) 0x8000, Halfs.floatToF16(-0f));
        assertTrue(Float.isNaN(Halfs.f16ToFloat(Halfs.floatToF16(Float.intBitsToFloat(0x7f800001)))));
    }

    private static void assertBf16(float f) {
        if (Float.isNaN(f)) {
            return;
        }
        int bits = Float.floatToRawIntBits(f);
        int down = bits >>> 16;                 // toward zero
        int up = down + 1;                      // away from zero (may become infinity)
        double x = Math.abs((double) f);
        double dDown = x - Math.abs((double) Halfs.bf16ToFloat((short) down));
        // infinity counts as 2^128 (the next power of two), as IEEE overflow rounding does
        double dUp = ((up & 0x7fff) == 0x7f80 ? Math.pow(2, 128) : Math.abs((double) Halfs.bf16ToFloat((short) up))) - x;
        int expected = dDown < dUp || (dDown == dUp && (down & 1) == 0) ? down : up;
        if ((bits & 0xffff) == 0) {
            expected = down;
        }
        assertEquals((short) expected, Halfs.floatToBf16(f), () -> "bf16 of " + f + " (" + Integer.toHexString(bits) + ")");
    }

    private static void assertF16(float f) {
        if (Float.isNaN(f)) {
            return;
        }
        int sign = (Float.floatToRawIntBits(f) >>> 16) & 0x8000;
        double x = Math.abs((double) f);
        int expected;
        if (x >= 65520) {
            expected = 0x7c00;
        } else {
            int lo = 0;
            int hi = 0x7bff; // largest finite half with value <= x, by bisection over the ordered positive patterns
            while (lo < hi) {
                int m = (lo + hi + 1) >>> 1;
                if (Halfs.f16ToFloat((short) m) <= x) {
                    lo = m;
                } else {
                    hi = m - 1;
                }
            }
            double vLo = Halfs.f16ToFloat((short) lo);
            double vHi = lo == 0x7bff ? 65536 : Halfs.f16ToFloat((short) (lo + 1));
            double dLo = x - vLo;
            double dHi = vHi - x;
            expected = dLo < dHi || (dLo == dHi && (lo & 1) == 0) ? lo : lo + 1;
        }
        short want = (short) (sign | expected);
        assertEquals(want, Halfs.floatToF16(f), () -> "f16 of " + f);
    }
}
