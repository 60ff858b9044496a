package io.salsa.model;

import static org.junit.jupiter.api.Assertions.fail;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds the Hugging Face reference outputs the golden tests compare against: the copy kept in this module's test
 * resources ({@code golden/}), so a fresh clone runs them, or {@code -Dsalsa.golden=DIR} when given. A golden
 * test whose data is missing fails: it must never pass by being skipped.
 */
public final class GoldenFiles {

    /** Names the folder (system property, else environment variable) that replaces the repository's copy. */
    public static final String PROPERTY = "salsa.golden";
    /** The repository's copy, relative to the repository root (also on the test classpath as {@code golden/}). */
    static final Path IN_REPOSITORY = Path.of("salsa-model", "src", "test", "resources", "golden");
    /** A file every golden folder has; finding it identifies the folder. */
    private static final String MARKER = "summary.json";

    private GoldenFiles() {
    }

    /**
     * The golden folder: {@code -Dsalsa.golden=DIR} (or {@code SALSA_GOLDEN}) when given, else {@code golden/} on
     * the test classpath, else the repository's copy found from the working folder or one above it.
     */
    public static Optional<Path> find() {
        String override = System.getProperty(PROPERTY, System.getenv("SALSA_GOLDEN"));
        if (override != null) {
            // given means wanted: a wrong path must not quietly fall back to another copy
            Path dir = Path.of(override);
            return Files.isDirectory(dir) ? Optional.of(dir) : Optional.empty();
        }
        URL marker = GoldenFiles.class.getResource("/golden/" + MARKER);
        if (marker != null && "file".equals(marker.getProtocol())) {
            try {
                return Optional.of(Path.of(marker.toURI()).getParent());
            } catch (URISyntaxException e) {
                throw new IllegalStateException("unreadable test classpath entry " + marker, e);
            }
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve(IN_REPOSITORY);
            if (Files.isRegularFile(candidate.resolve(MARKER))) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** {@code golden/<relative>}; fails the calling test, naming what is missing, when it is absent. */
    public static Path require(String relative) {
        Optional<Path> root = find();
        if (root.isEmpty()) {
            String override = System.getProperty(PROPERTY, System.getenv("SALSA_GOLDEN"));
            fail(override != null
                    ? "golden folder " + override + " (from -D" + PROPERTY + " / SALSA_GOLDEN) is not a directory"
                    : "golden data not found: neither golden/ on the test classpath nor " + IN_REPOSITORY
                            + " above " + Path.of("").toAbsolutePath());
        }
        Path p = root.get().resolve(relative);
        if (!Files.exists(p)) {
            fail("golden file " + p + " is missing");
        }
        return p;
    }
}
