package io.salsa.model.safetensors;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.runtime.io.FileOps;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes an F32, F16 or BF16 {@code .safetensors} file byte-for-byte as Hugging Face's {@code safetensors} library lays it out
 * (8-byte little-endian header length, {@code __metadata__} first, tensors sorted by name, header padded with
 * spaces to a multiple of 8, data in header order), so other toolkits read our checkpoints unchanged.
 *
 * <p>All tensors are declared when the writer is created; their data may then be written tensor by tensor and
 * chunk by chunk in any tensor order, which lets a soup stream one tensor at a time. Values are given as float
 * and narrowed on the way (round to nearest even). Given a digest, the writer hashes the file as it writes it, so
 * nobody has to read it back; the data must then be written in file order (tensors by name, each from element 0).
 * The file appears atomically on {@link #commit()}; closing without committing deletes the partial file.
 */
public final class SafeTensorsWriter implements AutoCloseable {

    /** What {@code save_pretrained} writes for PyTorch models; readers such as {@code transformers} check it. */
    public static final Map<String, String> PT_METADATA = Map.of("format", "pt");
    private static final int CHUNK_BYTES = 1 << 20;
    private static final ObjectMapper JSON = new ObjectMapper().disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);

    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private final long dataStart;
    private final DType dtype;
    private final MessageDigest digest;
    private long hashedUpTo;
    private final Map<String, TensorSpec> specs = new LinkedHashMap<>();
    private final Map<String, Long> offsets = new LinkedHashMap<>();
    private final Map<String, Long> cursors = new LinkedHashMap<>();
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private boolean committed;
    private boolean scratchFreed;

    private SafeTensorsWriter(Path target, Collection<TensorSpec> tensors, Map<String, String> metadata, DType dtype,
            MessageDigest digest) throws IOException {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new IllegalArgumentException(target + ": can write F32, F16 or BF16, not " + dtype);
        }
        this.target = target;
        this.dtype = dtype;
        this.digest = digest;
        Map<String, TensorSpec> sorted = new TreeMap<>();
        for (TensorSpec t : tensors) {
            if (sorted.put(t.name(), t) != null) {
                throw new IllegalArgumentException(target + ": tensor '" + t.name() + "' is declared twice");
            }
        }
        byte[] header = header(sorted, metadata, dtype);
        long offset = 0;
        for (TensorSpec t : sorted.values()) {
            specs.put(t.name(), t);
            offsets.put(t.name(), offset);
            cursors.put(t.name(), 0L);
            offset += t.numel() * dtype.byteSize();
        }
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        this.temp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".partial");
        this.channel = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        ByteBuffer head = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(header.length).put(header).flip();
        if (digest != null) {
            digest.update(head.duplicate());
        }
        writeFully(head, 0);
        this.dataStart = 8 + header.length;
        this.hashedUpTo = dataStart;
    }

    /** Starts a file at {@code target} holding {@code tensors} (F32) with the given {@code __metadata__}. */
    public static SafeTensorsWriter create(Path target, Collection<TensorSpec> tensors, Map<String, String> metadata)
            throws IOException {
        return new SafeTensorsWriter(target, tensors, metadata, DType.F32, null);
    }

    /**
     * Starts a file at {@code target} holding {@code tensors} stored as {@code dtype} (F32, F16 or BF16); when
     * {@code digest} is not null every byte of the file is fed to it in file order as it is written.
     */
    public static SafeTensorsWriter create(Path target, Collection<TensorSpec> tensors, Map<String, String> metadata,
            DType dtype, MessageDigest digest) throws IOException {
        return new SafeTensorsWriter(target, tensors, metadata, dtype, digest);
    }

    /** The element type of the file. */
    public DType dtype() {
        return dtype;
    }

    /** Writes in-memory tensors to {@code target} in one call, with {@code {"format":"pt"}} metadata. */
    public static void write(Path target, Map<String, F32Tensor> tensors) throws IOException {
        write(target, tensors, PT_METADATA);
    }

    /** Writes in-memory tensors to {@code target} in one call. */
    public static void write(Path target, Map<String, F32Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        List<TensorSpec> specs = tensors.entrySet().stream()
                .map(e -> new TensorSpec(e.getKey(), e.getValue().shape())).toList();
        try (SafeTensorsWriter w = create(target, specs, metadata)) {
            for (Map.Entry<String, F32Tensor> e : tensors.entrySet()) {
                w.write(e.getKey(), e.getValue().data());
            }
            w.commit();
        }
    }

    /** The JSON header exactly as the reference serialiser writes it: compact, metadata first, space-padded. */
    static byte[] header(Map<String, TensorSpec> sortedTensors, Map<String, String> metadata, DType dtype) {
        Map<String, Object> root = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) {
            root.put(SafeTensors.METADATA_KEY, new TreeMap<>(metadata));
        }
        long offset = 0;
        for (TensorSpec t : sortedTensors.values()) {
            long end = offset + Math.multiplyExact(t.numel(), (long) dtype.byteSize());
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", dtype.name());
            entry.put("shape", t.shape());
            entry.put("data_offsets", new long[] {offset, end});
            root.put(t.name(), entry);
            offset = end;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            JSON.writeValue(out, root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        while (out.size() % 8 != 0) {
            out.write(' ');
        }
        return out.toByteArray();
    }

    /** Writes the whole of tensor {@code name}. */
    public void write(String name, float[] data) throws IOException {
        TensorSpec spec = spec(name);
        if (data.length != spec.numel()) {
            throw new IllegalArgumentException(target + ": tensor '" + name + "' " + spec + " needs " + spec.numel()
                    + " elements, got " + data.length);
        }
        write(name, 0, data, 0, data.length);
    }

    /**
     * Writes elements {@code [fromElement, fromElement+count)} of tensor {@code name}; each tensor is written in
     * order from element 0, so a missing or repeated chunk is caught rather than leaving stale bytes.
     */
    public void write(String name, long fromElement, float[] src, int srcOffset, int count) throws IOException {
        if (scratchFreed) {
            throw new java.nio.channels.ClosedChannelException(); // never write from freed memory
        }
        TensorSpec spec = spec(name);
        long cursor = checkNext(name, spec, fromElement, count);
        java.util.Objects.checkFromIndexSize(srcOffset, count, src.length);
        int width = dtype.byteSize();
        long position = positionOf(name, fromElement);
        int perChunk = CHUNK_BYTES / width;
        for (int done = 0; done < count;) {
            int n = Math.min(perChunk, count - done);
            scratch.clear();
            int at = srcOffset + done;
            switch (dtype) {
                case F32 -> scratch.asFloatBuffer().put(src, at, n);
                case BF16 -> {
                    for (int i = 0; i < n; i++) {
                        scratch.putShort(i * 2, Halfs.floatToBf16(src[at + i]));
                    }
                }
                case F16 -> {
                    for (int i = 0; i < n; i++) {
                        scratch.putShort(i * 2, Halfs.floatToF16(src[at + i]));
                    }
                }
                default -> throw new AssertionError(dtype);
            }
            scratch.limit(n * width);
            if (digest != null) {
                digest.update(scratch.duplicate());
            }
            writeFully(scratch, position);
            position += (long) n * width;
            done += n;
        }
        if (digest != null) {
            hashedUpTo = position;
        }
        cursors.put(name, cursor + count);
    }

    /** The tensor's write cursor, checked to be at {@code fromElement} with room for {@code count} more elements. */
    private long checkNext(String name, TensorSpec spec, long fromElement, long count) {
        long cursor = cursors.get(name);
        if (fromElement != cursor) {
            throw new IllegalStateException(target + ": tensor '" + name + "' must be written in order: next element is "
                    + cursor + ", got " + fromElement);
        }
        if (fromElement + count > spec.numel()) {
            throw new IllegalArgumentException(target + ": tensor '" + name + "' " + spec + " has " + spec.numel()
                    + " elements; writing [" + fromElement + ", " + (fromElement + count) + ") overruns it");
        }
        return cursor;
    }

    /**
     * Writes elements {@code [fromElement, fromElement + n)} of tensor {@code name} given already encoded in the file's
     * dtype: the little-endian bytes from {@code bytes}' position to its limit ({@code n} times the element width).
     * For callers that narrow on another thread; the same order rules as {@link #write(String, long, float[], int,
     * int)} apply. {@code bytes} is consumed (its position moves to its limit).
     */
    public void writeEncoded(String name, long fromElement, ByteBuffer bytes) throws IOException {
        TensorSpec spec = spec(name);
        int width = dtype.byteSize();
        if (bytes.remaining() % width != 0) {
            throw new IllegalArgumentException(target + ": tensor '" + name + "': " + bytes.remaining()
                    + " bytes are not a whole number of " + dtype + " elements");
        }
        long count = bytes.remaining() / width;
        long cursor = checkNext(name, spec, fromElement, count);
        long position = positionOf(name, fromElement);
        if (digest != null) {
            digest.update(bytes.duplicate());
            hashedUpTo = position + bytes.remaining();
        }
        writeFully(bytes, position);
        cursors.put(name, cursor + count);
    }

    /**
     * Starts writing what has been written so far to the disk and waits for it ({@code fdatasync}), so that the
     * fsync of {@link #commit()} finds little left to do. Another thread may call it while this one writes; it must
     * have returned before {@link #commit()} or {@link #close()}.
     */
    public void flushWritten() throws IOException {
        channel.force(false);
    }

    /** File position of element {@code fromElement} of {@code name}; checks the hash is kept in file order. */
    private long positionOf(String name, long fromElement) {
        long position = dataStart + offsets.get(name) + fromElement * dtype.byteSize();
        if (digest != null && position != hashedUpTo) {
            throw new IllegalStateException(target + ": tensor '" + name + "' written out of file order while hashing"
                    + " (at byte " + position + ", the hash has reached " + hashedUpTo + ")");
        }
        return position;
    }

    private TensorSpec spec(String name) {
        TensorSpec spec = specs.get(name);
        if (spec == null) {
            throw new IllegalArgumentException(target + ": tensor '" + name + "' was not declared");
        }
        if (committed) {
            throw new IllegalStateException(target + " is already committed");
        }
        return spec;
    }

    private void writeFully(ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            pos += channel.write(buf, pos);
        }
    }

    /** Checks every tensor is complete, flushes to disk and moves the file into place atomically. */
    public void commit() throws IOException {
        commit(true);
    }

    /** As {@link #commit()} but leaves flushing to the OS: for benchmarks and scratch files only. */
    public void commitWithoutSync() throws IOException {
        commit(false);
    }

    private void commit(boolean sync) throws IOException {
        for (Map.Entry<String, TensorSpec> e : specs.entrySet()) {
            long written = cursors.get(e.getKey());
            if (written != e.getValue().numel()) {
                throw new IllegalStateException(target + ": tensor '" + e.getKey() + "' has " + written + " of "
                        + e.getValue().numel() + " elements written");
            }
        }
        if (sync) {
            channel.force(true);
        }
        channel.close();
        FileOps.moveAtomically(temp, target);
        committed = true;
    }

    @Override
    public void close() throws IOException {
        try {
            if (!committed) {
                channel.close();
                Files.deleteIfExists(temp);
            }
        } finally {
            if (!scratchFreed) {
                scratchFreed = true;
                DirectFloats.free(scratch); // one megabyte per written file, not left to the GC
            }
        }
    }
}
