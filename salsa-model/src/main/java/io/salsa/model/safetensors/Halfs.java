package io.salsa.model.safetensors;

/**
 * Bit-exact conversions between float and IEEE half precision / bfloat16, since Java 17 and DJL's PyTorch JNI have
 * neither. Narrowing rounds to nearest, ties to even, as PyTorch's {@code .to(torch.bfloat16)} / {@code .half()} do.
 */
public final class Halfs {
    private Halfs() {
    }

    /** bfloat16 is the upper half of a float32, so widening is a shift. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** IEEE 754 binary16 to binary32, including subnormals, infinities and NaN payloads. */
    public static float f16ToFloat(short bits) {
        int h = bits & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp != 0) {
            return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
        }
        if (mant == 0) {
            return Float.intBitsToFloat(sign);
        }
        // subnormal half: normalise the mantissa into a float exponent
        int e = 113;
        while ((mant & 0x400) == 0) {
            mant <<= 1;
            e--;
        }
        return Float.intBitsToFloat(sign | (e << 23) | ((mant & 0x3ff) << 13));
    }

    /**
     * float to bfloat16, round to nearest even (PyTorch's {@code round_to_nearest_even}); a NaN stays a quiet NaN of
     * the same sign, and values past the largest bfloat16 round to infinity.
     */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /**
     * float to IEEE binary16, round to nearest even, including subnormals; values from 65520 up become infinity and a
     * NaN stays a quiet NaN of the same sign.
     */
    public static short floatToF16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs > 0x7f800000) {
            return (short) (sign | 0x7e00 | ((abs >>> 13) & 0x3ff));
        }
        if (abs >= 0x477ff000) { // 65520: halfway between the largest half (65504) and the next power of two
            return (short) (sign | 0x7c00);
        }
        if (abs >= 0x38800000) { // normal half (>= 2^-14): re-bias the exponent, round the 13 dropped bits
            int rounded = abs + 0xfff + ((abs >>> 13) & 1);
            return (short) (sign | ((rounded - 0x38000000) >>> 13));
        }
        // subnormal half: a multiple of 2^-24; scaling by 2^24 is exact and rint rounds half to even
        return (short) (sign | (int) Math.rint(Float.intBitsToFloat(abs) * 0x1p24f));
    }

    /** Widens {@code n} bfloat16 bit patterns of {@code src} to float into {@code dst[at..]}: a tight shift loop. */
    public static void bf16ToFloats(short[] src, float[] dst, int at, int n) {
        for (int i = 0; i < n; i++) {
            dst[at + i] = Float.intBitsToFloat(src[i] << 16);
        }
    }

    /** {@link #floatToBf16} of {@code src[at..at+n)} into {@code dst[0..n)}, in one loop over primitive arrays. */
    public static void floatsToBf16(float[] src, int at, short[] dst, int n) {
        for (int i = 0; i < n; i++) {
            int bits = Float.floatToRawIntBits(src[at + i]);
            int rounded = (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
            // a NaN keeps its sign and top payload bits and is made quiet, as floatToBf16 does
            dst[i] = (short) ((bits & 0x7fffffff) > 0x7f800000 ? (bits >>> 16) | 0x40 : rounded);
        }
    }

    /** {@link #floatToF16} of {@code src[at..at+n)} into {@code dst[0..n)}. */
    public static void floatsToF16(float[] src, int at, short[] dst, int n) {
        for (int i = 0; i < n; i++) {
            dst[i] = floatToF16(src[at + i]);
        }
    }
}
