package io.salsa.runtime.blob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.BlobRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFolderStoreTest {

    @TempDir
    Path dir;

    private BlobRef put(ModelFolderStore store, String name, String content) throws IOException {
        Path folder = Files.createDirectories(dir.resolve("src").resolve(name));
        Files.writeString(folder.resolve("model.safetensors"), content);
        return store.putFolder(folder, "models/" + name);
    }

    private long cached(Path cache) throws IOException {
        try (Stream<Path> s = Files.list(cache)) {
            return s.count();
        }
    }

    @Test
    void shouldUnpackAVerifiedFolderOnceAndReuseIt() throws IOException {
        ModelFolderStore store = new ModelFolderStore(new LocalBlobStore(dir.resolve("blobs")), dir.resolve("cache"));
        BlobRef a = put(store, "a", "weights a");
        Path got = store.fetchFolder(a);
        assertEquals(dir.resolve("cache").resolve(a.getSha256()), got);
        assertEquals("weights a", Files.readString(got.resolve("model.safetensors")));
        Files.writeString(got.resolve("sentinel"), "still here");
        assertEquals(got, store.fetchFolder(a));
        assertTrue(Files.exists(got.resolve("sentinel")), "a verified folder is reused, not unpacked again");
    }

    @Test
    void shouldKeepEveryFolderWithoutALimitAndOnlyTheNewestWithOne() throws IOException {
        LocalBlobStore blobs = new LocalBlobStore(dir.resolve("blobs"));
        ModelFolderStore all = new ModelFolderStore(blobs, dir.resolve("all"));
        ModelFolderStore two = new ModelFolderStore(blobs, dir.resolve("two"), 2);
        BlobRef a = put(all, "a", "weights a");
        BlobRef b = put(all, "b", "weights b");
        BlobRef c = put(all, "c", "weights c");
        for (BlobRef ref : new BlobRef[] {a, b, c}) {
            all.fetchFolder(ref);
        }
        assertEquals(3, cached(dir.resolve("all")));

        Path pa = two.fetchFolder(a);
        Path pb = two.fetchFolder(b);
        two.fetchFolder(a); // used again: now newer than b
        Path pc = two.fetchFolder(c);
        assertTrue(Files.isDirectory(pa) && Files.isDirectory(pc));
        assertFalse(Files.exists(pb), "the least recently fetched folder is pruned");
        assertEquals(2, cached(dir.resolve("two")));
        assertEquals("weights b", Files.readString(two.fetchFolder(b).resolve("model.safetensors")),
                "a pruned folder is fetched again when needed");
    }

    @Test
    void shouldReplaceAHalfUnpackedFolderAndRemoveUnpackLeftovers() throws IOException {
        ModelFolderStore store = new ModelFolderStore(new LocalBlobStore(dir.resolve("blobs")), dir.resolve("cache"), 2);
        BlobRef a = put(store, "a", "weights a");
        Path half = Files.createDirectories(dir.resolve("cache").resolve(a.getSha256()));
        Files.writeString(half.resolve("model.safetensors"), "trunc");
        Path staging = Files.createDirectories(dir.resolve("cache").resolve("." + "f".repeat(64) + ".unpack-123"));
        Files.writeString(staging.resolve("model.safetensors"), "partial");

        Path got = store.fetchFolder(a);
        assertEquals(half, got);
        assertEquals("weights a", Files.readString(got.resolve("model.safetensors")), "never trusted, unpacked again");
        assertFalse(Files.exists(staging), "what an interrupted unpack left is removed");
    }

    @Test
    void shouldRefuseABlobWhoseHashDoesNotMatchOrIsNoHash() throws IOException {
        ModelFolderStore store = new ModelFolderStore(new LocalBlobStore(dir.resolve("blobs")), dir.resolve("cache"));
        BlobRef a = put(store, "a", "weights a");
        BlobRef tampered = BlobRef.newBuilder(a).setSha256("ab".repeat(32)).build();
        assertThrows(BlobIntegrityException.class, () -> store.fetchFolder(tampered));
        assertEquals(0, cached(dir.resolve("cache")), "nothing unverified is left in the cache");
        BlobRef traversal = BlobRef.newBuilder(a).setSha256("../outside").build();
        IOException e = assertThrows(IOException.class, () -> store.fetchFolder(traversal));
        assertTrue(e.getMessage().contains("sha256"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("outside")));
    }

    @Test
    void shouldRejectANegativeLimit() {
        assertThrows(IllegalArgumentException.class,
                () -> new ModelFolderStore(new LocalBlobStore(dir.resolve("blobs")), dir.resolve("cache"), -1));
    }
}
