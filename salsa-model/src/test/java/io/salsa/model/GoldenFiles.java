package io.salsa.model;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Finds the Hugging Face reference outputs ({@code shared/golden}) beside the repository, so golden tests run wherever they exist and skip elsewhere. */
public final class GoldenFiles {
    private GoldenFiles() {
    }

    /** The golden folder: {@code -Dsalsa.golden=DIR}, else the first {@code shared/golden} above the module folder. */
    public static Optional<Path> find() {
        String override = System.getProperty("salsa.golden", System.getenv("SALSA_GOLDEN"));
        if (override != null && Files.isDirectory(Path.of(override))) {
            return Optional.of(Path.of(override));
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve("shared").resolve("golden");
            if (Files.isDirectory(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** {@code golden/<relative>}, or skips the calling test with a message when it is absent. */
    public static Path require(String relative) {
        Optional<Path> root = find();
        assumeTrue(root.isPresent(), "golden data not found (looked for shared/golden above " + Path.of("").toAbsolutePath()
                + "; set -Dsalsa.golden=DIR); skipping");
        Path p = root.get().resolve(relative);
        assumeTrue(Files.exists(p), "golden file " + p + " is absent; skipping");
        return p;
    }
}
