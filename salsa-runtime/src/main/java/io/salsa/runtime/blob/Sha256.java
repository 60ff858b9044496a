package io.salsa.runtime.blob;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 of files, streams and bytes as lower-case hex: the identity every weight file is verified by before use. */
public final class Sha256 {
    private static final int BUFFER = 1 << 20;

    private Sha256() {
    }

    /** A fresh digest (SHA-256 is required of every Java platform). */
    public static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** Hex digest of a file's bytes, read in large sequential chunks. */
    public static String of(Path file) throws IOException {
        MessageDigest md = digest();
        ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (ch.read(buf) >= 0) {
                buf.flip();
                md.update(buf);
                buf.clear();
            }
        }
        return hex(md.digest());
    }

    /** Hex digest of everything {@code in} yields (not closed). */
    public static String of(InputStream in) throws IOException {
        MessageDigest md = digest();
        byte[] buf = new byte[BUFFER];
        for (int n; (n = in.read(buf)) >= 0;) {
            md.update(buf, 0, n);
        }
        return hex(md.digest());
    }

    /** Hex digest of {@code bytes}. */
    public static String of(byte[] bytes) {
        return hex(digest().digest(bytes));
    }

    /** Lower-case hex. */
    public static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest);
    }

    /** Whether {@code s} looks like a SHA-256 hex digest (64 hex digits). */
    public static boolean isHex(String s) {
        return s != null && s.length() == 64 && s.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                || (c >= 'A' && c <= 'F'));
    }
}
