package io.salsa.model.safetensors;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * A direct, native-order float buffer whose native memory is freed on {@link #close()}, not when a garbage
 * collection happens to find it: a model load reads every tensor through one, and a generator that loads a checkpoint
 * every second otherwise leaves megabytes per load in malloc's arenas until the next GC, which fragments them and
 * grows the process's RSS outside the heap (docs/measurements/soak.md, 2026-12-04).
 */
public final class DirectFloats implements AutoCloseable {

    /** {@code sun.misc.Unsafe.invokeCleaner}, or null where it is not available (memory then waits for the GC). */
    private static final Object UNSAFE;
    private static final Method INVOKE_CLEANER;

    static {
        Object unsafe = null;
        Method invoke = null;
        try {
            Class<?> type = Class.forName("sun.misc.Unsafe");
            Field field = type.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            unsafe = field.get(null);
            invoke = type.getMethod("invokeCleaner", ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            unsafe = null;
            invoke = null;
        }
        UNSAFE = unsafe;
        INVOKE_CLEANER = invoke;
    }

    private final ByteBuffer bytes;
    private final FloatBuffer floats;
    private boolean freed;

    private DirectFloats(int count) {
        this.bytes = ByteBuffer.allocateDirect(Math.multiplyExact(count, Float.BYTES)).order(ByteOrder.nativeOrder());
        this.floats = bytes.asFloatBuffer();
    }

    /** Room for {@code count} floats, position 0, limit {@code count}. */
    public static DirectFloats allocate(int count) {
        return new DirectFloats(count);
    }

    /** The floats; not to be used after {@link #close()}. */
    public FloatBuffer floats() {
        if (freed) {
            throw new IllegalStateException("the buffer was freed");
        }
        return floats;
    }

    /** Frees the native memory now (at most once). */
    @Override
    public void close() {
        if (!freed) {
            freed = true;
            free(bytes);
        }
    }

    /** Frees a direct buffer allocated with {@code ByteBuffer.allocateDirect} (not a slice or view) now. */
    static void free(ByteBuffer buffer) {
        if (INVOKE_CLEANER == null || !buffer.isDirect()) {
            return;
        }
        try {
            INVOKE_CLEANER.invoke(UNSAFE, buffer);
        } catch (ReflectiveOperationException e) {
            // left to the garbage collector, as without this class
        }
    }
}
