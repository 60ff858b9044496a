package io.salsa.ingest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The raters allowed to submit feedback, known only by the SHA-256 of their bearer tokens, so a leaked
 * configuration file does not leak the tokens themselves.
 */
public final class Raters {

    private static final Pattern RATER_ID = Pattern.compile("[A-Za-z0-9._@-]{1,64}");
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-fA-F]{64}");

    /** sha256(token) in lower-case hex → rater id. */
    private final Map<String, String> byTokenHash;

    private Raters(Map<String, String> byTokenHash) {
        this.byTokenHash = Map.copyOf(byTokenHash);
    }

    /** Builds the registry from an optional file of {@code raterId sha256hex} lines and an inline list. */
    public static Raters load(Path file, String inline) {
        Map<String, String> map = new HashMap<>();
        if (file != null) {
            List<String> lines;
            try {
                lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read raters file " + file + ": " + e.getMessage(), e);
            }
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                String[] parts = line.split("[\\s:]+");
                add(map, parts, file + " line " + (i + 1));
            }
        }
        if (inline != null && !inline.isBlank()) {
            for (String entry : inline.split(",")) {
                if (!entry.isBlank()) {
                    add(map, entry.strip().split(":"), IngestConfig.RATERS + " entry '" + entry.strip() + "'");
                }
            }
        }
        if (map.isEmpty()) {
            throw new IllegalArgumentException("no raters configured (" + (file != null ? file + " has no entries"
                    : IngestConfig.RATERS + " is empty") + ")");
        }
        return new Raters(map);
    }

    private static void add(Map<String, String> map, String[] parts, String where) {
        if (parts.length != 2 || !RATER_ID.matcher(parts[0]).matches() || !SHA256_HEX.matcher(parts[1]).matches()) {
            throw new IllegalArgumentException(where + ": expected 'raterId sha256hex' with raterId of 1-64 chars"
                    + " [A-Za-z0-9._@-] and 64 hex digits (sha256 of the rater's token)");
        }
        String previous = map.put(parts[1].toLowerCase(Locale.ROOT), parts[0]);
        if (previous != null && !previous.equals(parts[0])) {
            throw new IllegalArgumentException(where + ": the same token hash is already given to rater " + previous);
        }
    }

    /** The rater whose token this is, if any. */
    public Optional<String> authenticate(String token) {
        if (token == null || token.isEmpty() || token.length() > 512) {
            return Optional.empty();
        }
        return Optional.ofNullable(byTokenHash.get(sha256Hex(token)));
    }

    public int size() {
        return byTokenHash.size();
    }

    /** The hash stored for a token: lower-case hex SHA-256 of its UTF-8 bytes. */
    public static String sha256Hex(String token) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(md.digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }
}
