package io.salsa.runtime.blob;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalBlobStoreTest {

    @TempDir
    Path dir;

    @Test
    void shouldStoreAndVerifyAFile() throws IOException {
        LocalBlobStore store = new LocalBlobStore(dir.resolve("store"));
        Path file = Files.writeString(dir.resolve("w.bin"), "weights");
        BlobRef ref = store.put(file, "models/a/w.bin");
        assertEquals(Sha256.of(file), ref.sha256());
        assertEquals(7, ref.size());
        assertEquals("file", ref.uri().getScheme());
        assertTrue(store.exists(ref.uri()));
        assertEquals("weights", Files.readString(store.get(ref)));
        try (var staged = Files.list(store.root().resolve(".staging"))) {
            assertEquals(0, staged.count(), "no staging files left");
        }
    }

    @Test
    void shouldDeleteABlobAndNothingElse() throws IOException {
        LocalBlobStore store = new LocalBlobStore(dir.resolve("store"));
        BlobRef kept = store.put(Files.writeString(dir.resolve("k.bin"), "kept"), "runs/r/policy-v1.tar");
        BlobRef gone = store.put(Files.writeString(dir.resolve("g.bin"), "gone"), "runs/r/policy-v0.tar");
        assertTrue(store.delete(gone.uri()));
        assertFalse(store.exists(gone.uri()));
        assertThrows(NoSuchFileException.class, () -> store.get(gone));
        assertTrue(store.exists(kept.uri()));
        assertEquals("kept", Files.readString(store.get(kept)));
        assertFalse(store.delete(gone.uri()), "deleting a missing blob is not an error");
        assertThrows(IllegalArgumentException.class, () -> store.delete(java.net.URI.create("s3://b/k")));
    }

    @Test
    void shouldRefuseABlobWhoseBytesChanged() throws IOException {
        LocalBlobStore store = new LocalBlobStore(dir.resolve("store"));
        BlobRef ref = store.put(Files.writeString(dir.resolve("w.bin"), "weights"), "w.bin");
        Files.writeString(Path.of(ref.uri()), "tampered");
        BlobIntegrityException e = assertThrows(BlobIntegrityException.class, () -> store.get(ref));
        assertTrue(e.getMessage().contains(ref.uri().toString()) && e.getMessage().contains(ref.sha256())
                && e.getMessage().contains("refusing"), e.getMessage());
        NoSuchFileException missing = assertThrows(NoSuchFileException.class,
                () -> store.get(dir.resolve("store/none").toUri(), ref.sha256()));
        assertTrue(missing.getMessage().contains("blob not found"), missing.getMessage());
        assertFalse(store.exists(dir.resolve("store/none").toUri()));
    }

    @Test
    void shouldGiveAFolderTheSameHashWhateverItsTimestampsAndRoundTripIt() throws IOException {
        Path model = folder("model", "abc");
        LocalBlobStore store = new LocalBlobStore(dir.resolve("store"));
        BlobRef first = store.put(model, "models/m1.tar");
        Files.setLastModifiedTime(model.resolve("config.json"), FileTime.fromMillis(123_456_789L));
        Path copy = folder("copy", "abc");
        BlobRef second = store.put(copy, "models/m2.tar");
        assertEquals(first.sha256(), second.sha256(), "same files → same archive → same sha256");
        assertNotEquals(first.sha256(), store.put(folder("other", "abd"), "models/m3.tar").sha256());

        Path out = store.getFolder(first.uri(), first.sha256(), dir.resolve("unpacked"));
        assertArrayEquals(Files.readAllBytes(model.resolve("model.safetensors")),
                Files.readAllBytes(out.resolve("model.safetensors")));
        assertEquals("{\"n\": 1}", Files.readString(out.resolve("nested/deeper/x.json")));
        assertEquals(out, store.getFolder(first.uri(), first.sha256(), out), "an unpacked copy is reused");
        assertEquals(first.sha256(), store.put(out, "models/again.tar").sha256(),
                "the marker file of an unpacked folder is not archived");
        IOException e = assertThrows(IOException.class,
                () -> store.getFolder(first.uri(), "0".repeat(64), dir.resolve("model")));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
    }

    @Test
    void shouldRefuseBadKeysAndUris() throws IOException {
        LocalBlobStore store = new LocalBlobStore(dir.resolve("store"));
        Path file = Files.writeString(dir.resolve("w.bin"), "w");
        for (String key : new String[] {"../x", "/abs", "a//b", "a/./b", "", "a b", "dir/"}) {
            assertThrows(IllegalArgumentException.class, () -> store.put(file, key), key);
        }
        assertThrows(IllegalArgumentException.class, () -> store.get(java.net.URI.create("s3://b/k"), "0".repeat(64)));
    }

    @Test
    void shouldOpenStoresFromUris() throws IOException {
        assertInstanceOf(LocalBlobStore.class, BlobStores.fromUri(dir.resolve("s").toUri().toString(), Map.of()));
        BlobStore s3 = BlobStores.fromUri("s3://salsa-models/runs", Map.of("AWS_ACCESS_KEY_ID", "AKID",
                "AWS_SECRET_ACCESS_KEY", "secret", "SALSA_S3_ENDPOINT", "http://127.0.0.1:9000",
                "SALSA_BLOB_CACHE", dir.resolve("cache").toString()));
        assertInstanceOf(S3BlobStore.class, s3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BlobStores.fromUri("s3://salsa-models", Map.of("AWS_SECRET_ACCESS_KEY", "secret")));
        assertTrue(e.getMessage().contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BlobStores.fromUri("ftp://x/y", Map.of()));
        assertTrue(e.getMessage().contains("file:/// or s3://"), e.getMessage());
    }

    @Test
    void shouldRefuseUnsafeOrCorruptArchives() throws IOException {
        Path evil = dir.resolve("evil.tar");
        byte[] header = DeterministicTar.header("../evil.txt", false, 4);
        byte[] tar = new byte[512 * 4];
        System.arraycopy(header, 0, tar, 0, 512);
        System.arraycopy("evil".getBytes(StandardCharsets.US_ASCII), 0, tar, 512, 4);
        Files.write(evil, tar);
        IOException e = assertThrows(IOException.class, () -> DeterministicTar.extract(evil, dir.resolve("x"), null));
        assertTrue(e.getMessage().contains("unsafe path '../evil.txt'"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("evil.txt")));
        assertFalse(Files.exists(dir.resolve("x")));
        tar[0] = 'E'; // checksum no longer matches
        Files.write(evil, tar);
        e = assertThrows(IOException.class, () -> DeterministicTar.extract(evil, dir.resolve("x"), null));
        assertTrue(e.getMessage().contains("corrupt tar header"), e.getMessage());
    }

    private Path folder(String name, String content) throws IOException {
        Path d = Files.createDirectories(dir.resolve(name).resolve("nested/deeper"));
        Path root = dir.resolve(name);
        Files.writeString(root.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
        Files.write(root.resolve("model.safetensors"), content.repeat(300).getBytes(StandardCharsets.UTF_8));
        Files.writeString(d.resolve("x.json"), "{\"n\": 1}");
        return root;
    }
}
