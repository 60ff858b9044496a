package io.salsa.model.soup;

import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Direct buffers handed between a soup's threads, allocated only when none is free and at most {@code max} of them:
 * a pool that bounds how far a hashing or writing thread may lag without paying up front (zeroing tens of MB of
 * native memory per soup) for a lag that a quiet machine never sees.
 */
final class BufferPool {
    private final int bufferBytes;
    private final int max;
    private final BlockingQueue<ByteBuffer> free;
    private int allocated;

    BufferPool(int bufferBytes, int max) {
        if (max < 1) {
            throw new IllegalArgumentException("a pool needs at least one buffer, got " + max);
        }
        this.bufferBytes = bufferBytes;
        this.max = max;
        this.free = new ArrayBlockingQueue<>(max);
    }

    /** A little-endian buffer, cleared: a free one, a new one while fewer than {@code max} exist, else waits. */
    ByteBuffer take() throws InterruptedIOException {
        ByteBuffer b = free.poll();
        if (b == null) {
            if (allocated < max) {
                allocated++;
                return ByteBuffer.allocateDirect(bufferBytes).order(ByteOrder.LITTLE_ENDIAN);
            }
            try {
                b = free.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while building a soup");
            }
        }
        return b.clear();
    }

    /** Gives a buffer back (any thread). */
    void give(ByteBuffer b) {
        free.add(b);
    }
}
