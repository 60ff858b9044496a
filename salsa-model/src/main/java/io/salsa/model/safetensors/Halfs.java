package io.salsa.model.safetensors;

/** Bit-exact conversions of IEEE half precision and bfloat16 to float, since Java 17 and DJL's PyTorch JNI have neither. */
final class Halfs {
    private Halfs() {
    }

    /** bfloat16 is the upper half of a float32, so widening is a shift. */
    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** IEEE 754 binary16 to binary32, including subnormals, infinities and NaN payloads. */
    static float f16ToFloat(short bits) {
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
}
