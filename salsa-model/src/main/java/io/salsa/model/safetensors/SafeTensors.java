package io.salsa.model.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads a Hugging Face {@code .safetensors} file after checking that its header describes the data exactly, so
 * that weights from another toolkit are either loaded faithfully or refused with a message naming the problem.
 *
 * <p>The header is parsed eagerly and validated: well-formed JSON, known dtypes, shape × dtype size equal to the
 * byte range, and byte ranges that tile the data section with no overlap, gap or overrun. Tensor data is read
 * lazily with positional reads of large chunks into a direct buffer (no per-element calls), converting F16 and
 * BF16 to float in Java. Instances are safe to share between threads; reads are serialised per file.
 */
public final class SafeTensors implements AutoCloseable {

    /** Hugging Face's own limit; a larger header is a corrupt length field, not a real model. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";
    private static final int CHUNK_BYTES = 1 << 20;
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, String> metadata;
    private final Map<String, TensorInfo> tensors;
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private boolean scratchFreed;

    private SafeTensors(Path file, FileChannel channel, long dataStart, Map<String, String> metadata,
            Map<String, TensorInfo> tensors) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /** Opens and validates {@code file}; the caller closes it. */
    public static SafeTensors open(Path file) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "safetensors file not found");
        }
        try {
            return parse(file, ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Reads only the header of {@code file} (validated like {@link #open}). */
    public static Map<String, TensorInfo> readHeader(Path file) throws IOException {
        try (SafeTensors st = open(file)) {
            return st.tensors();
        }
    }

    private static SafeTensors parse(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new SafeTensorsException(file + ": not a safetensors file: " + size
                    + " bytes, fewer than the 8-byte header length");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0, file);
        long headerLen = lenBuf.getLong(0);
        if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES) {
            throw new SafeTensorsException(file + ": malformed header: header length " + Long.toUnsignedString(headerLen)
                    + " is outside 1.." + MAX_HEADER_BYTES);
        }
        if (8 + headerLen > size) {
            throw new SafeTensorsException(file + ": malformed header: header length " + headerLen
                    + " overruns the file (" + size + " bytes)");
        }
        ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
        readFully(ch, headerBuf, 8, file);
        String headerText;
        try {
            headerText = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(headerBuf.flip()).toString();
        } catch (CharacterCodingException e) {
            throw new SafeTensorsException(file + ": malformed header: not valid UTF-8", e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(headerText);
        } catch (JsonProcessingException e) {
            throw new SafeTensorsException(file + ": malformed header: not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafeTensorsException(file + ": malformed header: expected a JSON object");
        }
        long dataStart = 8 + headerLen;
        long dataLen = size - dataStart;

        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> infos = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            if (METADATA_KEY.equals(e.getKey())) {
                parseMetadata(file, e.getValue(), metadata);
            } else {
                infos.add(parseTensor(file, e.getKey(), e.getValue()));
            }
        }
        checkLayout(file, infos, dataLen);
        Map<String, TensorInfo> byName = new TreeMap<>();
        for (TensorInfo t : infos) {
            byName.put(t.name(), t);
        }
        return new SafeTensors(file, ch, dataStart, Collections.unmodifiableMap(metadata),
                Collections.unmodifiableMap(new LinkedHashMap<>(byName)));
    }

    private static void parseMetadata(Path file, JsonNode node, Map<String, String> out) throws SafeTensorsException {
        if (!node.isObject()) {
            throw new SafeTensorsException(file + ": malformed header: " + METADATA_KEY + " must be an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> m = it.next();
            if (!m.getValue().isTextual()) {
                throw new SafeTensorsException(file + ": malformed header: " + METADATA_KEY + "." + m.getKey()
                        + " must be a string, not " + m.getValue());
            }
            out.put(m.getKey(), m.getValue().asText());
        }
    }

    private static TensorInfo parseTensor(Path file, String name, JsonNode node) throws SafeTensorsException {
        String where = file + ": tensor '" + name + "': ";
        if (!node.isObject()) {
            throw new SafeTensorsException(where + "malformed header: entry must be an object, not " + node);
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new SafeTensorsException(where + "malformed header: missing or non-string \"dtype\"");
        }
        DType dtype = DType.parse(dtypeNode.asText());
        if (dtype == null) {
            throw new SafeTensorsException(where + "unknown dtype \"" + dtypeNode.asText() + "\"");
        }
        long[] shape = nonNegativeLongs(node.get("shape"), where, "shape", -1);
        long[] offsets = nonNegativeLongs(node.get("data_offsets"), where, "data_offsets", 2);
        if (offsets[1] < offsets[0]) {
            throw new SafeTensorsException(where + "data_offsets [" + offsets[0] + ", " + offsets[1]
                    + "] end before they begin");
        }
        long expected;
        try {
            expected = Math.multiplyExact(TensorInfo.numel(shape), dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new SafeTensorsException(where + "shape " + java.util.Arrays.toString(shape) + " overflows");
        }
        if (expected != offsets[1] - offsets[0]) {
            throw new SafeTensorsException(where + "shape " + java.util.Arrays.toString(shape) + " × " + dtype + " ("
                    + dtype.byteSize() + " bytes) needs " + expected + " bytes but data_offsets ["
                    + offsets[0] + ", " + offsets[1] + "] cover " + (offsets[1] - offsets[0]));
        }
        return new TensorInfo(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] nonNegativeLongs(JsonNode node, String where, String field, int requiredLength)
            throws SafeTensorsException {
        if (node == null || !node.isArray() || (requiredLength >= 0 && node.size() != requiredLength)) {
            throw new SafeTensorsException(where + "malformed header: \"" + field + "\" must be an array"
                    + (requiredLength >= 0 ? " of " + requiredLength + " integers" : " of integers") + ", not " + node);
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
                throw new SafeTensorsException(where + "malformed header: \"" + field + "\" must hold non-negative integers, not "
                        + node);
            }
            out[i] = v.asLong();
        }
        return out;
    }

    /** The data section must be covered exactly once, in order, as the reference implementation requires. */
    private static void checkLayout(Path file, List<TensorInfo> infos, long dataLen) throws SafeTensorsException {
        List<TensorInfo> sorted = new ArrayList<>(infos);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long cursor = 0;
        TensorInfo previous = null;
        for (TensorInfo t : sorted) {
            if (t.end() > dataLen) {
                throw new SafeTensorsException(file + ": tensor '" + t.name() + "': byte range [" + t.begin() + ", "
                        + t.end() + ") overruns the data section (" + dataLen + " bytes)");
            }
            if (t.begin() < cursor) {
                throw new SafeTensorsException(file + ": tensor '" + t.name() + "': byte range [" + t.begin() + ", "
                        + t.end() + ") overlaps tensor '" + previous.name() + "' [" + previous.begin() + ", "
                        + previous.end() + ")");
            }
            if (t.begin() > cursor) {
                throw new SafeTensorsException(file + ": tensor '" + t.name() + "': byte range [" + t.begin() + ", "
                        + t.end() + ") leaves a gap of " + (t.begin() - cursor) + " bytes after "
                        + (previous == null ? "the header" : "tensor '" + previous.name() + "'"));
            }
            cursor = t.end();
            previous = t;
        }
        if (cursor != dataLen) {
            throw new SafeTensorsException(file + ": " + (dataLen - cursor) + " bytes of data after the last tensor"
                    + (previous == null ? "" : " '" + previous.name() + "'") + " are not described by the header");
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position, Path file) throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) {
                throw new EOFException(file + ": unexpected end of file at byte " + pos);
            }
            pos += n;
        }
    }

    /** The file this reader was opened on. */
    public Path file() {
        return file;
    }

    /** The header's {@code __metadata__} (for PyTorch checkpoints {@code {"format": "pt"}}). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Every tensor by name, in name order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** Tensor names in order. */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    /** Whether the file holds {@code name}. */
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** Header entry of {@code name}, or a message naming the file and the missing tensor. */
    public TensorInfo info(String name) throws SafeTensorsException {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new SafeTensorsException(file + ": no tensor '" + name + "' (the file has " + tensors.size()
                    + " tensors)");
        }
        return t;
    }

    /** Absolute file offset of the first data byte (8 + header length). */
    public long dataStart() {
        return dataStart;
    }

    /** Total bytes of tensor data. */
    public long dataBytes() {
        long n = 0;
        for (TensorInfo t : tensors.values()) {
            n += t.byteLength();
        }
        return n;
    }

    /** The whole tensor as floats (F32, F16, BF16, F64). */
    public float[] readFloats(String name) throws IOException {
        TensorInfo t = info(name);
        float[] out = new float[arrayLength(t)];
        readFloats(name, 0, out, 0, out.length);
        return out;
    }

    /**
     * The whole tensor as floats in a direct native-order buffer, ready for {@code NDArray.set(Buffer)}; its memory
     * waits for the garbage collector, so loaders use {@link #readDirect(String)}.
     */
    public FloatBuffer readFloatBuffer(String name) throws IOException {
        TensorInfo t = info(name);
        FloatBuffer out = ByteBuffer.allocateDirect(Math.multiplyExact(arrayLength(t), Float.BYTES))
                .order(ByteOrder.nativeOrder()).asFloatBuffer();
        readFloats(name, out);
        return out.flip();
    }

    /** The whole tensor as floats in a direct buffer the caller frees by closing it (right after copying it). */
    public DirectFloats readDirect(String name) throws IOException {
        DirectFloats out = DirectFloats.allocate(arrayLength(info(name)));
        try {
            readFloats(name, out.floats());
            out.floats().flip();
            return out;
        } catch (IOException | RuntimeException e) {
            out.close();
            throw e;
        }
    }

    /** Puts the whole tensor into {@code dst} at its position, advancing it. */
    public void readFloats(String name, FloatBuffer dst) throws IOException {
        TensorInfo t = info(name);
        long n = t.numel();
        if (dst.remaining() < n) {
            throw new IllegalArgumentException(file + ": tensor '" + name + "' has " + n + " elements but the buffer has room for "
                    + dst.remaining());
        }
        float[] chunk = new float[(int) Math.min(n, CHUNK_BYTES / Float.BYTES)];
        for (long from = 0; from < n; from += chunk.length) {
            int count = (int) Math.min(chunk.length, n - from);
            readFloats(name, from, chunk, 0, count);
            dst.put(chunk, 0, count);
        }
    }

    /**
     * Reads {@code count} elements starting at element {@code fromElement} into {@code dst[dstOffset..]}, converting
     * to float; the streaming primitive that lets soups and loaders keep memory below one tensor.
     */
    public void readFloats(String name, long fromElement, float[] dst, int dstOffset, int count) throws IOException {
        TensorInfo t = info(name);
        if (!t.dtype().isFloatConvertible()) {
            throw new SafeTensorsException(file + ": tensor '" + name + "' has dtype " + t.dtype()
                    + ", which is not a floating-point type");
        }
        checkRange(t, fromElement, count);
        java.util.Objects.checkFromIndexSize(dstOffset, count, dst.length);
        int width = t.dtype().byteSize();
        int perChunk = CHUNK_BYTES / width;
        synchronized (scratch) {
            int done = 0;
            while (done < count) {
                int n = Math.min(perChunk, count - done);
                toFloats(t.dtype(), fill(t, fromElement + done, n), dst, dstOffset + done, n);
                done += n;
            }
        }
    }

    /**
     * Reads the raw little-endian bytes of elements {@code [fromElement, fromElement + count)} of {@code name} into
     * {@code dst} (from 0, flipped for reading) with one positional read, and returns the file position they came
     * from; with {@link #toFloats} this lets a caller convert and also hash the very bytes it read.
     */
    public long readRaw(String name, long fromElement, int count, ByteBuffer dst) throws IOException {
        TensorInfo t = info(name);
        checkRange(t, fromElement, count);
        long position = dataStart + t.begin() + fromElement * t.dtype().byteSize();
        dst.clear().limit(Math.multiplyExact(count, t.dtype().byteSize()));
        readFully(channel, dst, position, file);
        dst.flip();
        return position;
    }

    private static final int SHORT_SCRATCH = 1 << 18;
    private static final ThreadLocal<short[]> SHORTS = ThreadLocal.withInitial(() -> new short[0]);

    /** A per-thread scratch of at least {@code n} shorts (at most {@link #SHORT_SCRATCH}), reused across calls. */
    private static short[] shortScratch(int n) {
        short[] s = SHORTS.get();
        if (s.length < n) {
            s = new short[n];
            SHORTS.set(s);
        }
        return s;
    }

    /** Converts {@code n} elements of {@code dtype} (F32, F16, BF16, F64) at the start of {@code raw} to float. */
    public static void toFloats(DType dtype, ByteBuffer raw, float[] dst, int at, int n) {
        ByteBuffer buf = raw.order() == ByteOrder.LITTLE_ENDIAN ? raw : raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int p = buf.position();
        switch (dtype) {
            case F32 -> buf.asFloatBuffer().get(dst, at, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst[at + i] = Halfs.f16ToFloat(buf.getShort(p + i * 2));
                }
            }
            case BF16 -> {
                // one bulk copy into a short[] and a shift loop, instead of a bounds-checked getShort per element
                short[] bits = shortScratch(Math.min(n, SHORT_SCRATCH));
                for (int done = 0; done < n;) {
                    int len = Math.min(bits.length, n - done);
                    buf.duplicate().order(ByteOrder.LITTLE_ENDIAN).position(p + done * 2).asShortBuffer().get(bits, 0, len);
                    Halfs.bf16ToFloats(bits, dst, at + done, len);
                    done += len;
                }
            }
            case F64 -> {
                for (int i = 0; i < n; i++) {
                    dst[at + i] = (float) buf.getDouble(p + i * 8);
                }
            }
            default -> throw new IllegalArgumentException("dtype " + dtype + " is not a floating-point type");
        }
    }

    /** The whole tensor as longs (integer and boolean dtypes). */
    public long[] readLongs(String name) throws IOException {
        TensorInfo t = info(name);
        if (!t.dtype().isIntegral()) {
            throw new SafeTensorsException(file + ": tensor '" + name + "' has dtype " + t.dtype()
                    + ", which is not an integer type");
        }
        int count = arrayLength(t);
        long[] out = new long[count];
        int width = t.dtype().byteSize();
        synchronized (scratch) {
            int done = 0;
            while (done < count) {
                int n = Math.min(CHUNK_BYTES / width, count - done);
                ByteBuffer buf = fill(t, done, n);
                for (int i = 0; i < n; i++) {
                    out[done + i] = switch (t.dtype()) {
                        case BOOL, U8 -> buf.get(i) & 0xffL;
                        case I8 -> buf.get(i);
                        case I16 -> buf.getShort(i * 2);
                        case U16 -> buf.getShort(i * 2) & 0xffffL;
                        case I32 -> buf.getInt(i * 4);
                        case U32 -> buf.getInt(i * 4) & 0xffffffffL;
                        case I64 -> buf.getLong(i * 8);
                        default -> throw new AssertionError(t.dtype());
                    };
                }
                done += n;
            }
        }
        return out;
    }

    /** The tensor's raw little-endian bytes, for dtypes this class does not convert. */
    public byte[] readBytes(String name) throws IOException {
        TensorInfo t = info(name);
        if (t.byteLength() > Integer.MAX_VALUE - 8) {
            throw new SafeTensorsException(file + ": tensor '" + name + "' is too large for one array");
        }
        ByteBuffer dst = ByteBuffer.allocate((int) t.byteLength());
        readFully(channel, dst, dataStart + t.begin(), file);
        return dst.array();
    }

    private ByteBuffer fill(TensorInfo t, long fromElement, int count) throws IOException {
        if (scratchFreed) {
            throw new java.nio.channels.ClosedChannelException(); // never read into freed memory
        }
        scratch.clear().limit(count * t.dtype().byteSize());
        readFully(channel, scratch, dataStart + t.begin() + fromElement * t.dtype().byteSize(), file);
        return scratch.flip();
    }

    private void checkRange(TensorInfo t, long fromElement, int count) {
        if (fromElement < 0 || count < 0 || fromElement + count > t.numel()) {
            throw new IndexOutOfBoundsException(file + ": tensor '" + t.name() + "': elements [" + fromElement + ", "
                    + (fromElement + count) + ") outside [0, " + t.numel() + ")");
        }
    }

    private int arrayLength(TensorInfo t) throws SafeTensorsException {
        long n = t.numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new SafeTensorsException(file + ": tensor '" + t.name() + "' has " + n
                    + " elements, too many for one Java array; read it in ranges");
        }
        return (int) n;
    }

    @Override
    public void close() throws IOException {
        channel.close();
        synchronized (scratch) {
            if (!scratchFreed) {
                scratchFreed = true;
                DirectFloats.free(scratch); // one megabyte per opened file, not left to the GC
            }
        }
    }
}
