package io.salsa.model.soup;

import io.salsa.model.safetensors.Halfs;
import java.nio.ByteBuffer;

/**
 * The soup's inner loop for the hub's common case, every member and the soup in bfloat16: the weighted average of K
 * chunks of raw little-endian bf16 bytes, written as bf16 bytes, with no float arrays in between. The arithmetic is
 * {@link Soups}' own, element by element: float32 {@code s = w_1·x_1}, then {@code s += w_k·x_k} in member order,
 * rounded once to nearest even (a NaN stays a quiet NaN of the same sign), so its bytes equal those of widening,
 * averaging and narrowing separately.
 *
 * <p>With the {@code jdk.incubator.vector} module in the boot layer ({@code --add-modules jdk.incubator.vector}, as
 * the {@code salsa} launcher and the image start soups) the loop runs on SIMD registers ({@link Bf16Vectors}), about
 * five times faster than Java 17's JIT makes of the scalar loops, which it does not vectorise (they convert between
 * short, int and float). Without it {@link #VECTOR} is false and {@link Soups} keeps its scalar path; nothing else
 * changes.
 */
final class Bf16Average {

    /** Whether the vector kernel can run here (the module is present and not switched off). */
    static final boolean VECTOR = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !Boolean.getBoolean("salsa.soup.scalar");

    private Bf16Average() {
    }

    /**
     * Averages {@code n} bf16 elements: {@code in[m]} holds member m's elements as little-endian bytes from index 0,
     * {@code out} receives the average from index 0 (absolute access: no buffer's position or limit moves).
     */
    static void average(ByteBuffer[] in, float[] weights, ByteBuffer out, int n) {
        if (in.length != weights.length) {
            throw new IllegalArgumentException(in.length + " inputs for " + weights.length + " weights");
        }
        int done = VECTOR ? Bf16Vectors.average(in, weights, out, n) : 0;
        scalar(in, weights, out, done, n);
    }

    /** Elements {@code [from, n)} one at a time: the reference the vector kernel must equal, and its tail. */
    static void scalar(ByteBuffer[] in, float[] weights, ByteBuffer out, int from, int n) {
        for (int i = from; i < n; i++) {
            int at = 2 * i;
            float s = weights[0] * Halfs.bf16ToFloat(in[0].getShort(at));
            for (int m = 1; m < in.length; m++) {
                s += weights[m] * Halfs.bf16ToFloat(in[m].getShort(at));
            }
            out.putShort(at, Halfs.floatToBf16(s));
        }
    }
}
