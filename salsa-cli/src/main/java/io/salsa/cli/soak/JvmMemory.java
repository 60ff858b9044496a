package io.salsa.cli.soak;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Memory of a running JVM read the cheapest way there is: its heap from the performance counters it publishes in
 * {@code hsperfdata_<user>/<pid>} (what {@code jstat} reads, without starting a JVM per sample), its resident
 * memory, threads and open files from {@code /proc/<pid>}. RSS rising while the heap stays flat is native memory
 * (DJL's arrays) leaking.
 */
final class JvmMemory {

    private static final int MAGIC = 0xcafec0c0;

    private JvmMemory() {
    }

    /** One sample of one process; a field is -1 when it could not be read. */
    record Sample(double heapUsedMb, double oldGenUsedMb, double heapCommittedMb, double rssMb, long threads,
                  long openFiles) {
    }

    static Sample sample(long pid) {
        double[] heap = heapMb(perfCounters(pid));
        Map<String, String> status = procStatus(pid);
        double rss = kb(status.get("VmRSS")) / 1024.0;
        long threads = status.containsKey("Threads") ? Long.parseLong(status.get("Threads").trim()) : -1;
        return new Sample(heap[0], heap[1], heap[2], rss < 0 ? -1 : rss, threads, openFiles(pid));
    }

    /**
     * Heap used, old generation used and heap committed in MB from a JVM's perf counters; -1 for what they do not
     * give. A JVM that has just mapped its counters file publishes zeros until its heap is set up: not a reading.
     */
    static double[] heapMb(Map<String, Long> counters) {
        long used = 0;
        long cap = 0;
        for (Map.Entry<String, Long> e : counters.entrySet()) {
            String k = e.getKey();
            if (k.matches("sun\\.gc\\.generation\\.\\d+\\.space\\.\\d+\\.used")) {
                used += e.getValue();
            } else if (k.matches("sun\\.gc\\.generation\\.\\d+\\.capacity")) {
                cap += e.getValue();
            }
        }
        Long old = counters.get("sun.gc.generation.1.space.0.used");
        return new double[] {used > 0 ? used / 1048576.0 : -1, old == null ? -1 : old / 1048576.0,
                cap > 0 ? cap / 1048576.0 : -1};
    }

    /** The long counters of a JVM's hsperfdata file (empty when the process is gone or publishes none). */
    static Map<String, Long> perfCounters(long pid) {
        Path file = Path.of(System.getProperty("java.io.tmpdir"), "hsperfdata_" + System.getProperty("user.name"),
                Long.toString(pid));
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            return Map.of();
        }
        return parse(bytes);
    }

    /** Parses the version-2 hsperfdata layout: a prologue, then self-describing entries. */
    static Map<String, Long> parse(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        if (bytes.length < 32 || b.order(ByteOrder.BIG_ENDIAN).getInt(0) != MAGIC || bytes[5] != 2) {
            return Map.of();
        }
        b.order(bytes[4] == 0 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        int entry = b.getInt(24);
        int entries = b.getInt(28);
        Map<String, Long> out = new HashMap<>();
        for (int i = 0; i < entries && entry > 0 && entry + 20 <= bytes.length; i++) {
            int length = b.getInt(entry);
            int nameOffset = b.getInt(entry + 4);
            int vectorLength = b.getInt(entry + 8);
            byte type = b.get(entry + 12);
            int dataOffset = b.getInt(entry + 16);
            if (length <= 0) {
                break;
            }
            if (type == 'J' && vectorLength == 0 && entry + dataOffset + 8 <= bytes.length) {
                int end = entry + nameOffset;
                while (end < bytes.length && bytes[end] != 0) {
                    end++;
                }
                out.put(new String(bytes, entry + nameOffset, end - entry - nameOffset, StandardCharsets.US_ASCII),
                        b.getLong(entry + dataOffset));
            }
            entry += length;
        }
        return out;
    }

    private static Map<String, String> procStatus(long pid) {
        Map<String, String> out = new HashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    out.put(line.substring(0, colon), line.substring(colon + 1).trim());
                }
            }
        } catch (IOException e) {
            return Map.of();
        }
        return out;
    }

    private static double kb(String value) {
        if (value == null) {
            return -1;
        }
        List<String> parts = List.of(value.trim().split("\\s+"));
        return Double.parseDouble(parts.get(0));
    }

    private static long openFiles(long pid) {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.count();
        } catch (NoSuchFileException e) {
            return -1;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Bytes {@code dir} takes on disk ({@code du -sk}: allocated blocks, so Kafka's preallocated sparse index files
     * count for what they use, not their 10 MB apparent size); -1 when it cannot be measured.
     */
    static long diskUse(Path dir) {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try {
            Process du = new ProcessBuilder("du", "-sk", dir.toString()).redirectErrorStream(false)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String outText = new String(du.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            du.waitFor();
            // a file deleted while du walks (log segments, checkpoint retention) makes it exit 1: the sum stands
            return outText.isEmpty() ? -1 : Long.parseLong(outText.split("\\s+")[0]) * 1024;
        } catch (IOException | NumberFormatException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
