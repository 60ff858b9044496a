package io.salsa.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Peak memory of one measurement, split as the JVM heap and everything else: PyTorch's tensors live outside the heap,
 * so the heap alone says little about a model bench. The resident peak is Linux's {@code VmHWM}, reset before each
 * measurement through {@code /proc/self/clear_refs} (kernel 4.0+); when the reset is refused the peak is the
 * process's peak so far, and {@link Peak#sinceStart()} says so.
 */
final class PeakMemory {

    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    /** Peaks in bytes: the resident set, the heap's used bytes (sum of the heap pools' peaks), and their difference. */
    record Peak(long residentBytes, long heapBytes, boolean sinceStart) {
        /** Peak resident minus peak heap: PyTorch's tensors and the JVM's own native memory. */
        long nativeBytes() {
            return Math.max(0, residentBytes - heapBytes);
        }
    }

    private boolean resettable = true;

    /** Starts a measurement: the resident peak and the heap pools' peaks start again from now. */
    void reset() {
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.isValid()) {
                pool.resetPeakUsage();
            }
        }
        if (resettable) {
            try {
                Files.writeString(CLEAR_REFS, "5"); // "5" resets VmHWM to the current resident set
            } catch (IOException | RuntimeException e) {
                resettable = false;
            }
        }
    }

    /** The peaks since the last {@link #reset()} (or since the process started when it cannot be reset). */
    Peak peak() {
        long heap = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.isValid() && pool.getPeakUsage() != null) {
                heap += pool.getPeakUsage().getUsed();
            }
        }
        return new Peak(statusKb("VmHWM:") * 1024, heap, !resettable);
    }

    /** Bytes as MB (10^6) for the tables; NaN when unknown (negative). */
    static double mb(long bytes) {
        return bytes < 0 ? Double.NaN : bytes / 1e6;
    }

    /** A {@code /proc/self/status} field in kB, or −1 when it cannot be read (not Linux). */
    static long statusKb(String field) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
