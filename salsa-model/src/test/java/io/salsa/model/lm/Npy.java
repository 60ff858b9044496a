package io.salsa.model.lm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A NumPy {@code .npy} file (little-endian float32 or int64, C order), enough to read the golden references.
 *
 * @param shape  dimensions
 * @param floats the data when the dtype is {@code <f4}, else null
 * @param longs  the data when the dtype is {@code <i8}, else null
 */
public record Npy(long[] shape, float[] floats, long[] longs) {

    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']+)'");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    public static Npy read(Path file) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[6];
        buf.get(magic);
        if (magic[0] != (byte) 0x93 || !"NUMPY".equals(new String(magic, 1, 5, StandardCharsets.US_ASCII))) {
            throw new IOException(file + ": not a .npy file");
        }
        int major = buf.get();
        buf.get();
        int headerLen = major == 1 ? Short.toUnsignedInt(buf.getShort()) : buf.getInt();
        byte[] header = new byte[headerLen];
        buf.get(header);
        String h = new String(header, StandardCharsets.ISO_8859_1);
        if (h.contains("'fortran_order': True")) {
            throw new IOException(file + ": Fortran order is not supported");
        }
        Matcher d = DESCR.matcher(h);
        Matcher s = SHAPE.matcher(h);
        if (!d.find() || !s.find()) {
            throw new IOException(file + ": malformed header " + h);
        }
        String[] dims = s.group(1).split(",");
        long[] shape = java.util.Arrays.stream(dims).map(String::trim).filter(x -> !x.isEmpty())
                .mapToLong(Long::parseLong).toArray();
        int n = (int) java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        switch (d.group(1)) {
            case "<f4" -> {
                float[] f = new float[n];
                buf.asFloatBuffer().get(f);
                return new Npy(shape, f, null);
            }
            case "<i8" -> {
                long[] l = new long[n];
                buf.asLongBuffer().get(l);
                return new Npy(shape, null, l);
            }
            default -> throw new IOException(file + ": dtype " + d.group(1) + " is not supported");
        }
    }

    /** Rows of a 2-D int64 array. */
    public long[][] longRows() {
        int rows = (int) shape[0];
        int cols = (int) shape[1];
        long[][] out = new long[rows][cols];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(longs, r * cols, out[r], 0, cols);
        }
        return out;
    }
}
