package io.salsa.runtime.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileOpsTest {

    @Test
    void shouldDeleteATreeWithoutFollowingLinksAndAcceptAnAbsentOne(@TempDir Path dir) throws IOException {
        Path keep = Files.writeString(dir.resolve("keep.txt"), "outside");
        Path tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("a/b"));
        Files.writeString(tree.resolve("a/b/c.txt"), "c");
        Files.writeString(tree.resolve("top.txt"), "t");
        Files.createSymbolicLink(tree.resolve("link"), dir);
        FileOps.deleteTree(tree);
        assertFalse(Files.exists(tree));
        assertEquals("outside", Files.readString(keep), "a link inside the tree is removed, not followed");
        FileOps.deleteTree(tree);
        assertTrue(FileOps.deleteTreeQuietly(tree));
    }

    @Test
    void shouldWriteAtomicallyAndLeaveTheOldContentWhenTheWriteFails(@TempDir Path dir) throws IOException {
        Path target = dir.resolve("sub/state.json");
        FileOps.writeStringAtomically(target, "{\"v\":1}");
        assertEquals("{\"v\":1}", Files.readString(target));
        FileOps.writeStringAtomically(target, "{\"v\":2}");
        assertEquals("{\"v\":2}", Files.readString(target));

        IOException e = assertThrows(IOException.class, () -> FileOps.writeAtomically(target, tmp -> {
            Files.writeString(tmp, "{\"v\":", StandardCharsets.UTF_8);
            throw new IOException("disk full");
        }));
        assertEquals("disk full", e.getMessage());
        assertEquals("{\"v\":2}", Files.readString(target), "a failed write leaves the old content");
        try (Stream<Path> files = Files.list(target.getParent())) {
            assertEquals(List.of(target), files.toList(), "and no temporary sibling");
        }
    }

    @Test
    void shouldPublishAFolderBuiltAtTheTemporaryPath(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("model");
        FileOps.writeAtomically(out, tmp -> {
            Files.createDirectories(tmp);
            Files.writeString(tmp.resolve("config.json"), "{}");
        });
        assertEquals("{}", Files.readString(out.resolve("config.json")));
        assertFalse(Files.exists(dir.resolve("model.tmp")));

        // a half-built folder from a crash is not mixed into the next one; a failed build leaves nothing behind
        Path other = dir.resolve("other");
        Files.createDirectories(dir.resolve("other.tmp"));
        Files.writeString(dir.resolve("other.tmp/stale.bin"), "stale");
        assertThrows(IOException.class, () -> FileOps.writeAtomically(other, tmp -> {
            assertFalse(Files.exists(tmp));
            Files.createDirectories(tmp.resolve("half"));
            throw new IOException("out of memory");
        }));
        assertFalse(Files.exists(other));
        assertFalse(Files.exists(dir.resolve("other.tmp")));
    }

    @Test
    void shouldRemoveAScratchFolderWithItsContentWhateverHappensInTheBlock(@TempDir Path dir) throws IOException {
        Path seen;
        try (FileOps.ScratchDir scratch = FileOps.scratchDir(dir.resolve("work"), "job-")) {
            seen = scratch.path();
            assertEquals(dir.resolve("work"), seen.getParent());
            Files.createDirectories(seen.resolve("x/y"));
            Files.writeString(seen.resolve("x/y/z.bin"), "z");
        }
        assertFalse(Files.exists(seen));

        Path[] failed = new Path[1];
        assertThrows(IllegalStateException.class, () -> {
            try (FileOps.ScratchDir scratch = FileOps.scratchDir("fileops-test-")) {
                failed[0] = scratch.path();
                Files.writeString(scratch.path().resolve("partial"), "p");
                throw new IllegalStateException("the work failed");
            }
        });
        assertFalse(Files.exists(failed[0]));
    }

    @Test
    void shouldMoveAtomicallyOntoAnExistingFile(@TempDir Path dir) throws IOException {
        Path source = Files.writeString(dir.resolve("new"), "new");
        Path target = Files.writeString(dir.resolve("old"), "old");
        FileOps.moveAtomically(source, target);
        assertEquals("new", Files.readString(target));
        assertFalse(Files.exists(source));
    }
}
