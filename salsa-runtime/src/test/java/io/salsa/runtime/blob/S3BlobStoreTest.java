package io.salsa.runtime.blob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.testkit.S3ProxyFixture;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The S3 store against S3Proxy, a real S3 API server run in this JVM with AWS signature checking on, opened the
 * way a service opens it: {@link BlobStores#fromUri} with the environment docker-compose gives (AWS_ENDPOINT_URL).
 */
class S3BlobStoreTest {

    private static final String BUCKET = "salsa-test";

    @TempDir
    static Path serverDir;
    @TempDir
    Path dir;

    private static S3ProxyFixture s3;

    @BeforeAll
    static void startServer() throws Exception {
        s3 = S3ProxyFixture.start(serverDir.resolve("objects"));
        s3.createBucket(BUCKET);
    }

    @AfterAll
    static void stopServer() throws Exception {
        s3.close();
    }

    @Test
    void shouldUploadCheckExistenceAndDownloadVerifiedFolders() throws IOException {
        S3BlobStore store = store(Map.of());
        Path model = Files.createDirectories(dir.resolve("model"));
        Files.writeString(model.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
        Files.write(model.resolve("model.safetensors"), new byte[70_000]);
        BlobRef ref = store.put(model, "soups/v1.tar");
        assertEquals(URI.create("s3://salsa-test/runs/soups/v1.tar"), ref.uri());
        assertEquals(new LocalBlobStore(dir.resolve("local")).put(model, "x.tar").sha256(), ref.sha256(),
                "a folder hashes the same in every store");
        assertTrue(s3.keys(BUCKET).contains("runs/soups/v1.tar"), "the server holds the object");
        assertTrue(store.exists(ref.uri()));
        assertFalse(store.exists(URI.create("s3://salsa-test/runs/none")));

        Path unpacked = store.getFolder(ref.uri(), ref.sha256(), dir.resolve("unpacked"));
        assertEquals("{\"model_type\": \"gpt2\"}", Files.readString(unpacked.resolve("config.json")));
        assertEquals(70_000, Files.size(unpacked.resolve("model.safetensors")));
        s3.overwrite(BUCKET, "runs/soups/v1.tar", new byte[] {1});
        assertEquals(ref.sha256(), Sha256.of(store.get(ref)), "a verified cached blob is not downloaded again");
    }

    @Test
    void shouldRefuseACorruptedObjectAndKeepNothing() throws IOException {
        S3BlobStore store = store(Map.of());
        BlobRef ref = store.put(Files.writeString(dir.resolve("w.bin"), "weights"), "w.bin");
        s3.overwrite(BUCKET, "runs/w.bin", "weightz".getBytes(StandardCharsets.UTF_8));
        BlobIntegrityException e = assertThrows(BlobIntegrityException.class, () -> store.get(ref));
        assertTrue(e.getMessage().contains("s3://salsa-test/runs/w.bin") && e.getMessage().contains(ref.sha256())
                && e.getMessage().contains("refusing"), e.getMessage());
        try (var cached = Files.list(dir.resolve("cache"))) {
            assertEquals(0, cached.count(), "nothing unverified stays in the cache");
        }
        NoSuchFileException missing = assertThrows(NoSuchFileException.class,
                () -> store.get(URI.create("s3://salsa-test/runs/none"), "0".repeat(64)));
        assertTrue(missing.getMessage().contains("blob not found"), missing.getMessage());
    }

    @Test
    void shouldDeleteAnObjectSoItIsNoLongerListedAndDeleteAgainHarmlessly() throws IOException {
        S3BlobStore store = store(Map.of());
        BlobRef kept = store.put(Files.writeString(dir.resolve("k.bin"), "kept"), "runs/r/policy-v1.tar");
        BlobRef gone = store.put(Files.writeString(dir.resolve("g.bin"), "gone"), "runs/r/policy-v0.tar");
        assertTrue(s3.keys(BUCKET).containsAll(List.of("runs/runs/r/policy-v1.tar", "runs/runs/r/policy-v0.tar")));
        assertTrue(store.delete(gone.uri()));
        assertFalse(store.exists(gone.uri()));
        assertFalse(s3.keys(BUCKET).contains("runs/runs/r/policy-v0.tar"), "the object itself is gone");
        assertTrue(store.exists(kept.uri()), "only the named object is deleted");
        assertTrue(store.delete(gone.uri()), "a second delete is not an error (S3 answers 204 for a missing key)");
        assertThrows(NoSuchFileException.class, () -> store.get(gone));
        assertThrows(IllegalArgumentException.class, () -> store.delete(URI.create("s3://other-bucket/x")));
    }

    @Test
    void shouldUploadA200MegabyteCheckpointInPartsAndDownloadItVerified() throws IOException {
        Path big = dir.resolve("big.bin");
        long size = 200L << 20;
        String sha = writeRandom(big, size);
        S3BlobStore store = store(Map.of());
        BlobRef ref = store.put(big, "checkpoints/big.bin");
        assertEquals(sha, ref.sha256());
        assertEquals(size, ref.size());
        assertEquals(13, s3.multipartParts(BUCKET, "runs/checkpoints/big.bin"), "uploaded in 13 parts of 16 MiB");
        Files.delete(big);
        Path fetched = store.get(ref);
        assertEquals(size, Files.size(fetched));
        assertEquals(sha, Sha256.of(fetched));
    }

    @Test
    void shouldRefuseWrongCredentialsNamingTheEndpointAndBucket() throws IOException {
        S3BlobStore wrong = store(Map.of("AWS_SECRET_ACCESS_KEY", "not-the-secret"));
        Path file = Files.writeString(dir.resolve("w.bin"), "w");
        URI uri = URI.create("s3://salsa-test/runs/refused.bin");
        for (var attempt : List.<ThrowingCall>of(() -> wrong.put(file, "refused.bin"), () -> wrong.exists(uri),
                () -> wrong.get(uri, "0".repeat(64)))) {
            IOException e = assertThrows(IOException.class, attempt::call);
            assertTrue(e.getMessage().contains("refused the credentials")
                    && e.getMessage().contains(s3.endpoint() + " (AWS_ENDPOINT_URL)")
                    && e.getMessage().contains("bucket 'salsa-test'")
                    && e.getMessage().contains("access key '" + S3ProxyFixture.ACCESS_KEY + "'")
                    && !e.getMessage().contains("not-the-secret"), e.getMessage());
        }
        assertFalse(s3.keys(BUCKET).contains("runs/refused.bin"), "nothing was stored");
    }

    @Test
    void shouldNameAMissingBucket() throws IOException {
        Map<String, String> env = new HashMap<>(env());
        S3BlobStore store = (S3BlobStore) BlobStores.fromUri("s3://no-such-bucket/runs", env);
        Path file = Files.writeString(dir.resolve("w.bin"), "w");
        for (var attempt : List.<ThrowingCall>of(() -> store.put(file, "w.bin"),
                () -> store.exists(URI.create("s3://no-such-bucket/runs/w.bin")),
                () -> store.get(URI.create("s3://no-such-bucket/runs/w.bin"), "0".repeat(64)))) {
            IOException e = assertThrows(IOException.class, attempt::call);
            assertTrue(e.getMessage().contains("S3 bucket 'no-such-bucket' does not exist at " + s3.endpoint())
                    && e.getMessage().contains("SALSA_BLOB_STORE"), e.getMessage());
        }
    }

    @Test
    void shouldPreferSalsaS3EndpointOverTheAwsVariables() throws IOException {
        Map<String, String> env = new HashMap<>(env());
        env.put("AWS_ENDPOINT_URL", "http://127.0.0.1:1");
        env.put("SALSA_S3_ENDPOINT", s3.endpoint().toString());
        S3BlobStore store = (S3BlobStore) BlobStores.fromUri("s3://" + BUCKET + "/runs", env);
        BlobRef ref = store.put(Files.writeString(dir.resolve("p.bin"), "p"), "p.bin");
        assertTrue(store.exists(ref.uri()));
        env.remove("SALSA_S3_ENDPOINT");
        env.put("AWS_MAX_ATTEMPTS", "1");
        S3BlobStore unreachable = (S3BlobStore) BlobStores.fromUri("s3://" + BUCKET + "/runs", env);
        IOException e = assertThrows(IOException.class, () -> unreachable.exists(ref.uri()));
        assertTrue(e.getMessage().contains("http://127.0.0.1:1 (AWS_ENDPOINT_URL) did not answer"), e.getMessage());
    }

    private interface ThrowingCall {
        Object call() throws IOException;
    }

    private Map<String, String> env() {
        Map<String, String> env = new HashMap<>(s3.env());
        env.put("SALSA_BLOB_CACHE", dir.resolve("cache").toString());
        return env;
    }

    /** The store a service gets from {@code SALSA_BLOB_STORE=s3://salsa-test/runs} and the compose environment. */
    private S3BlobStore store(Map<String, String> overrides) throws IOException {
        Map<String, String> env = env();
        env.putAll(overrides);
        return (S3BlobStore) BlobStores.fromUri("s3://" + BUCKET + "/runs", env);
    }

    /** Writes {@code size} pseudo-random bytes a megabyte at a time and returns their SHA-256. */
    private static String writeRandom(Path file, long size) throws IOException {
        MessageDigest md = Sha256.digest();
        SplittableRandom random = new SplittableRandom(42);
        byte[] chunk = new byte[1 << 20];
        try (OutputStream out = new DigestOutputStream(Files.newOutputStream(file), md)) {
            for (long written = 0; written < size; written += chunk.length) {
                for (int i = 0; i < chunk.length; i += 8) {
                    long r = random.nextLong();
                    for (int j = 0; j < 8; j++) {
                        chunk[i + j] = (byte) (r >>> (8 * j));
                    }
                }
                out.write(chunk, 0, (int) Math.min(chunk.length, size - written));
            }
        }
        return Sha256.hex(md.digest());
    }
}
