package io.salsa.model.soup;

import io.salsa.model.safetensors.Checkpoint;
import io.salsa.model.safetensors.DType;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.safetensors.TensorInfo;
import io.salsa.runtime.blob.Sha256;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The soup's reads of its members, which also hash them: each chunk's raw bytes are converted to float for the
 * average and then handed to that member's hashing thread, so every member is read once for both (the card's member sha256s
 * equal a separate sha256 of the files, bit for bit).
 */
final class MemberReads implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MemberReads.class);
    /** At most this much read-ahead of the hashing threads (allocated only if they fall that far behind). */
    private static final int POOL_BYTES = 64 << 20;
    private static final int MAX_BUFFERS = 512;

    private final List<Checkpoint> readers;
    private final List<SequentialDigest> digests;
    /** One hashing thread per member: three or more sha256 streams share the cores evenly (hashing dominates). */
    private final List<Background> hashers;
    private final BufferPool free;

    /**
     * @param hash          hash every member's files (in index order) while reading them
     * @param chunkElements the most elements one {@link #read} asks for
     */
    MemberReads(List<Checkpoint> readers, boolean hash, int chunkElements) throws IOException {
        this.readers = readers;
        int width = 1;
        for (Checkpoint r : readers) {
            for (TensorInfo t : r.tensors().values()) {
                width = Math.max(width, t.dtype().byteSize());
            }
        }
        int bufferBytes = Math.multiplyExact(chunkElements, width);
        free = new BufferPool(bufferBytes, Math.max(2 * readers.size(), Math.min(MAX_BUFFERS, POOL_BYTES / bufferBytes)));
        if (hash) {
            digests = new ArrayList<>();
            hashers = new ArrayList<>();
            for (int m = 0; m < readers.size(); m++) {
                digests.add(new SequentialDigest(readers.get(m).files()));
                hashers.add(new Background("soup-hasher-" + (m + 1)));
            }
        } else {
            digests = null;
            hashers = null;
        }
    }

    /** A chunk of a member as read: its raw bytes (index 0 to the limit) and the file and position they came from. */
    record Raw(ByteBuffer bytes, Path file, long position) {
    }

    /** The dtype member {@code m} stores tensor {@code name} in. */
    DType dtype(int m, String name) throws IOException {
        return readers.get(m).info(name).dtype();
    }

    /**
     * Reads {@code len} elements of member {@code m}'s tensor {@code name} from element {@code from} into
     * {@code dst} as float; returns the bytes read.
     */
    long read(int m, String name, long from, float[] dst, int len) throws IOException {
        DType dtype = dtype(m, name);
        Raw raw = readRaw(m, name, from, len);
        try {
            SafeTensors.toFloats(dtype, raw.bytes(), dst, 0, len);
        } catch (RuntimeException e) {
            free.give(raw.bytes());
            throw e;
        }
        long bytes = raw.bytes().remaining();
        release(m, raw);
        return bytes;
    }

    /**
     * Reads the raw bytes of {@code len} elements of member {@code m}'s tensor {@code name} from element
     * {@code from} with one positional read, into a pooled buffer that {@link #release} must then be given.
     */
    Raw readRaw(int m, String name, long from, int len) throws IOException {
        if (hashers != null) {
            hashers.get(m).rethrow();
        }
        Checkpoint ck = readers.get(m);
        ByteBuffer buf = free.take();
        try {
            long position = ck.readRaw(name, from, len, buf);
            return new Raw(buf, ck.fileOf(name), position);
        } catch (IOException | RuntimeException e) {
            free.give(buf);
            throw e;
        }
    }

    /**
     * Hands a chunk read by {@link #readRaw} on to member {@code m}'s hash, or back to the pool when not hashing; its
     * buffer must not be touched afterwards.
     */
    void release(int m, Raw raw) throws IOException {
        if (hashers == null) {
            free.give(raw.bytes());
            return;
        }
        SequentialDigest digest = digests.get(m);
        hashers.get(m).execute(() -> digest.update(raw.file(), raw.position(), raw.bytes()), () -> free.give(raw.bytes()));
    }

    /** Waits for the hashing thread and completes each member's hash; empty strings when not hashing. */
    List<String> finish() throws IOException {
        List<String> out = new ArrayList<>();
        if (hashers == null) {
            readers.forEach(r -> out.add(""));
            return out;
        }
        for (Background h : hashers) {
            h.finish();
        }
        for (int m = 0; m < digests.size(); m++) {
            SequentialDigest d = digests.get(m);
            out.add(d.finish());
            if (d.reread() > (1 << 20)) {
                LOG.info("member {}: {} bytes read a second time for its sha256 (header, or a layout unlike the first"
                        + " member's)", m + 1, d.reread());
            }
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        if (hashers != null) {
            hashers.forEach(Background::close);
            for (SequentialDigest d : digests) {
                d.close();
            }
        }
    }

    /**
     * sha256 of files concatenated in order, fed with whatever byte ranges a reader happens to read: a range that
     * continues the hash is hashed as given, one that skips ahead makes the skipped bytes be read from the file,
     * one already hashed is ignored, and {@link #finish} reads whatever was never offered. The result is always
     * the files' hash; reading in file order makes it cost no extra read.
     */
    static final class SequentialDigest implements AutoCloseable {
        private final List<Path> files;
        private final Map<Path, Integer> index = new HashMap<>();
        private final MessageDigest md = Sha256.digest();
        private int current;
        private long hashedUpTo;
        private FileChannel channel;
        private ByteBuffer gap;
        private long reread;

        SequentialDigest(List<Path> files) {
            this.files = List.copyOf(files);
            for (int i = 0; i < files.size(); i++) {
                index.put(files.get(i), i);
            }
        }

        /** Offers the bytes {@code bytes} (position to limit) found at {@code position} of {@code file}. */
        void update(Path file, long position, ByteBuffer bytes) throws IOException {
            Integer f = index.get(file);
            if (f == null) {
                throw new IllegalArgumentException(file + " is not one of the hashed files " + files);
            }
            if (f < current) {
                return;
            }
            while (current < f) {
                nextFile();
            }
            long end = position + bytes.remaining();
            if (end <= hashedUpTo) {
                return;
            }
            if (position > hashedUpTo) {
                hashFromFile(position);
            }
            ByteBuffer b = bytes.duplicate();
            b.position(b.position() + (int) (hashedUpTo - position));
            md.update(b);
            hashedUpTo = end;
        }

        /** Hashes what was never offered and returns the hex digest. */
        String finish() throws IOException {
            while (current < files.size()) {
                nextFile();
            }
            close();
            return Sha256.hex(md.digest());
        }

        /** Bytes that had to be read again because they were not offered in order. */
        long reread() {
            return reread;
        }

        private void nextFile() throws IOException {
            hashFromFile(channel().size());
            close();
            current++;
            hashedUpTo = 0;
        }

        private void hashFromFile(long to) throws IOException {
            FileChannel ch = channel();
            if (gap == null) {
                gap = ByteBuffer.allocateDirect(1 << 20);
            }
            while (hashedUpTo < to) {
                gap.clear().limit((int) Math.min(gap.capacity(), to - hashedUpTo));
                int n = ch.read(gap, hashedUpTo);
                if (n < 0) {
                    throw new java.io.EOFException(files.get(current) + ": ended at byte " + hashedUpTo + " while hashing");
                }
                gap.flip();
                md.update(gap);
                hashedUpTo += n;
                reread += n;
            }
        }

        private FileChannel channel() throws IOException {
            if (channel == null) {
                channel = FileChannel.open(files.get(current), StandardOpenOption.READ);
            }
            return channel;
        }

        @Override
        public void close() throws IOException {
            if (channel != null) {
                channel.close();
                channel = null;
            }
        }
    }
}
