package io.salsa.bench;

import io.salsa.runtime.io.FileOps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The folder a bench works in (broker data, model files, service state): a new temporary folder deleted when the
 * bench ends, or a folder the user named, which is kept; so no bench leaves gigabytes behind by accident.
 */
public final class Scratch implements AutoCloseable {

    private final Path dir;
    private final boolean temporary;

    private Scratch(Path dir, boolean temporary) {
        this.dir = dir;
        this.temporary = temporary;
    }

    /** {@code chosen} (created if missing, kept afterwards), or a new temporary folder when it is null. */
    public static Scratch create(String bench, Path chosen) throws IOException {
        return chosen != null ? new Scratch(Files.createDirectories(chosen), false)
                : new Scratch(Files.createTempDirectory("salsa-bench-" + bench + "-"), true);
    }

    /** A new temporary folder, deleted on {@link #close()}. */
    public static Scratch create(String bench) throws IOException {
        return create(bench, null);
    }

    public Path dir() {
        return dir;
    }

    public Path resolve(String name) {
        return dir.resolve(name);
    }

    /** Deletes the folder if this bench created it. */
    @Override
    public void close() throws IOException {
        if (temporary) {
            FileOps.deleteTree(dir);
        }
    }
}
