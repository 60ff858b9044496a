package io.salsa.bench;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the golden {@code small} model ({@code shared/golden/small}: 4 layers, 128 wide, vocab 1000) in the first
 * folder at or above the current one that holds it, the default shape of the model benches in this repository.
 */
public final class GoldenSmall {

    private GoldenSmall() {
    }

    /** {@code shared/golden/small/<file>} in {@code from} or the nearest folder above it, or null if there is none. */
    public static Path find(Path from, String file) {
        for (Path dir = from.toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared").resolve("golden").resolve("small").resolve(file);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /** {@link #find(Path, String)} from the current folder. */
    public static Path find(String file) {
        return find(Path.of(""), file);
    }
}
