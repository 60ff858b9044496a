package io.salsa.cli.soak;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JvmMemoryTest {

    @Test
    void shouldReadThisJvmsHeapFromItsPerfCountersAndItsRssFromProc() {
        JvmMemory.Sample s = JvmMemory.sample(ProcessHandle.current().pid());
        long heap = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        assertTrue(s.heapUsedMb() > 0, "heap " + s);
        // the counters and the runtime see the same heap, give or take what was allocated in between
        assertTrue(s.heapCommittedMb() * 1048576 >= heap / 2, s + " vs runtime used " + heap);
        assertTrue(s.rssMb() > s.heapUsedMb() / 4, "rss " + s);
        assertTrue(s.openFiles() > 2 && s.threads() > 1, s.toString());
    }

    @Test
    void shouldTakeTheZerosOfAJvmStillSettingUpItsHeapForNoReading() {
        // as a just-started service publishes them: the counters exist, the heap is not set up yet (CI saw a 0 MB heap)
        double[] starting = JvmMemory.heapMb(java.util.Map.of("sun.gc.generation.0.space.0.used", 0L,
                "sun.gc.generation.0.capacity", 0L, "sun.gc.generation.1.space.0.used", 0L));
        assertTrue(starting[0] < 0 && starting[2] < 0, java.util.Arrays.toString(starting));
        double[] running = JvmMemory.heapMb(java.util.Map.of("sun.gc.generation.0.space.0.used", 3L << 20,
                "sun.gc.generation.0.space.1.used", 1L << 20, "sun.gc.generation.0.capacity", 8L << 20,
                "sun.gc.generation.1.space.0.used", 2L << 20, "sun.gc.generation.1.capacity", 8L << 20));
        // young and old spaces together: 3 + 1 + 2 MB used of 8 + 8 MB committed
        assertTrue(running[0] == 6 && running[1] == 2 && running[2] == 16, java.util.Arrays.toString(running));
    }

    @Test
    void shouldGiveNothingForAProcessThatIsGone() {
        JvmMemory.Sample s = JvmMemory.sample(Long.MAX_VALUE / 2);
        assertTrue(s.heapUsedMb() < 0 && s.rssMb() < 0 && s.openFiles() < 0, s.toString());
    }

    @Test
    void shouldMeasureAllocatedBlocksNotApparentSize(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("data.bin"), new byte[256 * 1024]);
        try (var f = java.nio.channels.FileChannel.open(dir.resolve("sparse.index"),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE)) {
            f.truncate(0);
            f.write(java.nio.ByteBuffer.wrap(new byte[1]), 10L * 1024 * 1024); // 10 MB apparent, one block used
        }
        long used = JvmMemory.diskUse(dir);
        assertTrue(used >= 256 * 1024 && used < 2L * 1024 * 1024, "du " + used);
    }
}
