package io.salsa.runtime.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file operations every writer here needs, in one place so they behave the same everywhere: publish a
 * finished file or folder atomically, remove trees, and scratch folders that clean up after themselves.
 */
public final class FileOps {

    private static final Logger LOG = LoggerFactory.getLogger(FileOps.class);

    /** Writes the content of a file (or builds a folder) at the temporary path it is given. */
    @FunctionalInterface
    public interface Writer {
        void write(Path tmp) throws IOException;
    }

    private FileOps() {
    }

    /**
     * Renames {@code source} onto {@code target} (replacing it) atomically where the file system can, so readers
     * see either the old or the new file, never a partial one.
     */
    public static void moveAtomically(Path source, Path target) throws IOException {
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(source, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Writes {@code target} (a file, or a folder that does not exist yet) through its sibling {@code NAME.tmp} and
     * moves that onto it atomically, so readers (and a restart after a crash) see the old content or the new, never
     * a partial one. A sibling left by a crash is removed first, and the sibling is removed if the write fails. One
     * writer per target: concurrent writers of the same target would share the sibling.
     */
    public static void writeAtomically(Path target, Writer writer) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve(target.getFileName() + ".tmp");
        deleteTree(tmp);
        boolean moved = false;
        try {
            writer.write(tmp);
            moveAtomically(tmp, target);
            moved = true;
        } finally {
            if (!moved) {
                // quietly: the write's own failure is the one worth reporting
                deleteTreeQuietly(tmp);
            }
        }
    }

    /** {@link #writeAtomically} of UTF-8 text. */
    public static void writeStringAtomically(Path target, String text) throws IOException {
        writeAtomically(target, tmp -> Files.writeString(tmp, text, StandardCharsets.UTF_8));
    }

    /** Deletes {@code root} and everything below it (links are removed, not followed); absent is fine. */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(root)) {
            paths = walk.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path p : paths) {
            Files.deleteIfExists(p);
        }
    }

    /**
     * {@link #deleteTree} for scratch space, where a failure to clean up must not hide the outcome of the work
     * itself: it is logged, not thrown; returns whether the tree is gone.
     */
    public static boolean deleteTreeQuietly(Path root) {
        try {
            deleteTree(root);
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not delete {}: {}", root, e.toString());
            return false;
        }
    }

    /** A new empty scratch folder in the system's temporary directory, removed with its content when closed. */
    public static ScratchDir scratchDir(String prefix) throws IOException {
        return new ScratchDir(Files.createTempDirectory(prefix));
    }

    /**
     * A new empty scratch folder inside {@code parent} (created if missing), removed with its content when closed;
     * inside the folder it is for, so a final {@link #moveAtomically} out of it stays on one file system.
     */
    public static ScratchDir scratchDir(Path parent, String prefix) throws IOException {
        return new ScratchDir(Files.createTempDirectory(Files.createDirectories(parent), prefix));
    }

    /** A scratch folder for try-with-resources: whatever happens in the block, the folder is removed after it. */
    public static final class ScratchDir implements AutoCloseable {

        private final Path path;

        private ScratchDir(Path path) {
            this.path = path;
        }

        public Path path() {
            return path;
        }

        /** Removes the folder and its content; a failure is logged (see {@link #deleteTreeQuietly}). */
        @Override
        public void close() {
            deleteTreeQuietly(path);
        }
    }
}
