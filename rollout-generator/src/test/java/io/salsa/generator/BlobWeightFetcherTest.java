package io.salsa.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.BlobRef;
import io.salsa.runtime.blob.BlobIntegrityException;
import io.salsa.runtime.blob.LocalBlobStore;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlobWeightFetcherTest {

    @TempDir
    Path dir;

    private BlobRef put(LocalBlobStore store, String name, String content) throws Exception {
        Path folder = Files.createDirectories(dir.resolve("src").resolve(name));
        Files.writeString(folder.resolve("model.safetensors"), content);
        io.salsa.runtime.blob.BlobRef ref = store.put(folder, "policy/" + name + ".tar");
        return BlobRef.newBuilder().setUri(ref.uri().toString()).setSha256(ref.sha256()).setSizeBytes(ref.size()).build();
    }

    @Test
    void shouldUnpackAVerifiedFolderReuseItAndKeepOnlyTheNewest() throws Exception {
        LocalBlobStore store = new LocalBlobStore(dir.resolve("blobs"));
        BlobWeightFetcher fetcher = new BlobWeightFetcher(store, dir.resolve("cache"));
        BlobRef a = put(store, "a", "weights a");
        Path got = fetcher.fetch(a);
        assertEquals("weights a", Files.readString(got.resolve("model.safetensors")));
        assertEquals(got, fetcher.fetch(a), "the same blob is reused, not unpacked again");
        Path b = fetcher.fetch(put(store, "b", "weights b"));
        Path c = fetcher.fetch(put(store, "c", "weights c"));
        assertTrue(Files.isDirectory(b) && Files.isDirectory(c));
        assertFalse(Files.exists(got), "older folders are pruned");
    }

    @Test
    void shouldRefuseABlobWhoseHashDoesNotMatch() throws Exception {
        LocalBlobStore store = new LocalBlobStore(dir.resolve("blobs"));
        BlobWeightFetcher fetcher = new BlobWeightFetcher(store, dir.resolve("cache"));
        BlobRef a = put(store, "a", "weights a");
        BlobRef tampered = BlobRef.newBuilder(a).setSha256("ab".repeat(32)).build();
        assertThrows(BlobIntegrityException.class, () -> fetcher.fetch(tampered));
        BlobRef garbage = BlobRef.newBuilder(a).setSha256("not-a-hash").build();
        assertTrue(assertThrows(java.io.IOException.class, () -> fetcher.fetch(garbage)).getMessage().contains("sha256"));
    }
}
