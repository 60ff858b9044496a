package io.salsa.runtime.blob;

import io.salsa.runtime.io.FileOps;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * An uncompressed POSIX ustar archive of a folder that depends only on the files' relative paths and bytes, so the
 * same model folder always yields the same SHA-256 and can be verified like a single file.
 *
 * <p>Layout: entries sorted by relative path ({@code /}-separated, compared as strings), a directory entry before
 * its contents; mode 0644 for files and 0755 for folders; uid, gid and mtime 0; empty user and group names; no
 * trailing record padding (only the two zero blocks). Symbolic links and special files are refused. Any {@code tar}
 * reads the result ({@code tar -xf}). Sizes of 8 GiB and more use the GNU base-256 size field.
 */
public final class DeterministicTar {

    /** Written into an unpacked folder: the blob SHA-256 it came from, so a second fetch can reuse it. */
    public static final String MARKER = ".blob-sha256";
    private static final int BLOCK = 512;
    private static final long MAX_OCTAL_SIZE = 077777777777L;

    private DeterministicTar() {
    }

    /** Writes the archive of {@code folder} to {@code archive}; returns its SHA-256. */
    public static String write(Path folder, Path archive) throws IOException {
        MessageDigest md = Sha256.digest();
        try (OutputStream out = new DigestOutputStream(new BufferedOutputStream(Files.newOutputStream(archive), 1 << 20), md)) {
            write(folder, out);
        }
        return Sha256.hex(md.digest());
    }

    /** Streams the archive of {@code folder} to {@code out} (not closed). */
    public static void write(Path folder, OutputStream out) throws IOException {
        if (!Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(folder + ": not a folder");
        }
        List<Path> entries = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(folder)) {
            walk.filter(p -> !p.equals(folder)).forEach(entries::add);
        }
        List<String[]> sorted = new ArrayList<>();
        for (Path p : entries) {
            String rel = folder.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
            if (rel.equals(MARKER)) {
                continue;
            }
            if (Files.isSymbolicLink(p)) {
                throw new IOException(p + ": symbolic links are not archived; copy the file into the folder");
            }
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                sorted.add(new String[] {rel + "/", p.toString()});
            } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                sorted.add(new String[] {rel, p.toString()});
            } else {
                throw new IOException(p + ": only regular files and folders are archived");
            }
        }
        sorted.sort((a, b) -> a[0].compareTo(b[0]));
        byte[] buf = new byte[1 << 16];
        for (String[] e : sorted) {
            boolean dir = e[0].endsWith("/");
            Path file = Path.of(e[1]);
            long size = dir ? 0 : Files.size(file);
            out.write(header(e[0], dir, size));
            if (!dir) {
                long copied = 0;
                try (InputStream in = Files.newInputStream(file)) {
                    for (int n; (n = in.read(buf)) > 0;) {
                        out.write(buf, 0, n);
                        copied += n;
                    }
                }
                if (copied != size) {
                    throw new IOException(file + ": changed size while being archived (" + size + " -> " + copied + ")");
                }
                int pad = (int) ((BLOCK - size % BLOCK) % BLOCK);
                out.write(new byte[pad]);
            }
        }
        out.write(new byte[2 * BLOCK]);
    }

    static byte[] header(String name, boolean dir, long size) throws IOException {
        byte[] h = new byte[BLOCK];
        byte[] full = name.getBytes(StandardCharsets.UTF_8);
        byte[] nameBytes = full;
        byte[] prefix = new byte[0];
        if (full.length > 100) {
            // ustar splits long paths at a '/' into a 155-byte prefix and a 100-byte name
            int split = -1;
            for (int i = Math.min(full.length - 1, 155); i > 0; i--) {
                if (full[i] == '/' && full.length - i - 1 <= 100 && full.length - i - 1 > 0) {
                    split = i;
                    break;
                }
            }
            if (split < 0) {
                throw new IOException("path '" + name + "' is too long for a ustar archive (name 100 + prefix 155 bytes)");
            }
            prefix = Arrays.copyOfRange(full, 0, split);
            nameBytes = Arrays.copyOfRange(full, split + 1, full.length);
        }
        System.arraycopy(nameBytes, 0, h, 0, nameBytes.length);
        octal(h, 100, 8, dir ? 0755 : 0644);
        octal(h, 108, 8, 0);
        octal(h, 116, 8, 0);
        if (size <= MAX_OCTAL_SIZE) {
            octal(h, 124, 12, size);
        } else {
            h[124] = (byte) 0x80;
            for (int i = 0; i < 8; i++) {
                h[135 - i] = (byte) (size >>> (8 * i));
            }
        }
        octal(h, 136, 12, 0);
        h[156] = (byte) (dir ? '5' : '0');
        System.arraycopy("ustar\0".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 6);
        h[263] = '0';
        h[264] = '0';
        System.arraycopy(prefix, 0, h, 345, prefix.length);
        Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        String chk = String.format("%06o", sum);
        System.arraycopy(chk.getBytes(StandardCharsets.US_ASCII), 0, h, 148, 6);
        h[154] = 0;
        h[155] = ' ';
        return h;
    }

    private static void octal(byte[] h, int offset, int length, long value) {
        String s = String.format("%0" + (length - 1) + "o", value);
        System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, h, offset, length - 1);
        h[offset + length - 1] = 0;
    }

    /**
     * Unpacks {@code archive} into {@code destination}, which must not exist; files appear only when the whole archive
     * unpacked (it is extracted beside the destination and moved into place). Paths that are absolute, contain
     * {@code ..} or name links or devices are refused.
     */
    public static void extract(Path archive, Path destination, String sha256) throws IOException {
        Path target = destination.toAbsolutePath().normalize();
        Files.createDirectories(target.getParent());
        Path staging = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".unpack-");
        try (InputStream in = new BufferedInputStream(Files.newInputStream(archive), 1 << 20)) {
            byte[] h = new byte[BLOCK];
            byte[] buf = new byte[1 << 16];
            while (true) {
                readFully(in, h, archive);
                if (isZero(h)) {
                    break;
                }
                checkHeader(h, archive);
                String name = string(h, 0, 100);
                String prefix = string(h, 345, 155);
                String path = prefix.isEmpty() ? name : prefix + "/" + name;
                long size = size(h, archive, path);
                Path out = safeResolve(staging, path, archive);
                char type = (char) h[156];
                if (type == '5') {
                    Files.createDirectories(out);
                } else if (type == '0' || type == 0) {
                    Files.createDirectories(out.getParent());
                    try (OutputStream os = Files.newOutputStream(out)) {
                        long left = size;
                        while (left > 0) {
                            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                            if (n < 0) {
                                throw new EOFException(archive + ": archive ends inside '" + path + "'");
                            }
                            os.write(buf, 0, n);
                            left -= n;
                        }
                    }
                    long pad = (BLOCK - size % BLOCK) % BLOCK;
                    in.skipNBytes(pad);
                } else {
                    throw new IOException(archive + ": entry '" + path + "' has type '" + type
                            + "'; only files and folders are unpacked");
                }
            }
            if (sha256 != null) {
                Files.writeString(staging.resolve(MARKER), sha256 + "\n");
            }
            FileOps.moveAtomically(staging, target);
        } catch (IOException | RuntimeException e) {
            FileOps.deleteTree(staging);
            throw e;
        }
    }

    private static Path safeResolve(Path root, String path, Path archive) throws IOException {
        String clean = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        if (clean.isEmpty() || clean.startsWith("/") || clean.contains("\\") || Arrays.asList(clean.split("/")).contains("..")) {
            throw new IOException(archive + ": refusing unsafe path '" + path + "'");
        }
        Path out = root.resolve(clean).normalize();
        if (!out.startsWith(root)) {
            throw new IOException(archive + ": refusing unsafe path '" + path + "'");
        }
        return out;
    }

    private static void checkHeader(byte[] h, Path archive) throws IOException {
        long stored;
        try {
            stored = Long.parseLong(string(h, 148, 8).trim(), 8);
        } catch (NumberFormatException e) {
            throw new IOException(archive + ": not a tar archive (bad header checksum field)");
        }
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) {
            sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xff);
        }
        if (sum != stored) {
            throw new IOException(archive + ": corrupt tar header (checksum " + stored + ", computed " + sum + ")");
        }
    }

    private static long size(byte[] h, Path archive, String path) throws IOException {
        if ((h[124] & 0x80) != 0) {
            long v = 0;
            for (int i = 125; i < 136; i++) {
                v = (v << 8) | (h[i] & 0xff);
            }
            return v;
        }
        try {
            String s = string(h, 124, 12).trim();
            return s.isEmpty() ? 0 : Long.parseLong(s, 8);
        } catch (NumberFormatException e) {
            throw new IOException(archive + ": entry '" + path + "' has a bad size field");
        }
    }

    private static String string(byte[] h, int offset, int length) {
        int end = offset;
        while (end < offset + length && h[end] != 0) {
            end++;
        }
        return new String(h, offset, end - offset, StandardCharsets.UTF_8);
    }

    private static boolean isZero(byte[] h) {
        for (byte b : h) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    private static void readFully(InputStream in, byte[] b, Path archive) throws IOException {
        int n = in.readNBytes(b, 0, b.length);
        if (n != b.length) {
            throw new EOFException(archive + ": archive ends inside a header (truncated?)");
        }
    }
}
