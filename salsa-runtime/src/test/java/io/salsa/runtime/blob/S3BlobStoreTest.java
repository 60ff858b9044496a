package io.salsa.runtime.blob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The S3 store against an in-process stand-in that speaks the four requests it uses (PUT, GET, HEAD, DELETE of
 * one object, path-style) and checks every request's SigV4 signature and payload hash as S3 does. It is not S3: the
 * signer itself is checked against AWS's published vectors in {@link SigV4SignerTest}.
 */
class S3BlobStoreTest {

    private static final String ACCESS = "AKIDSTANDIN";
    private static final String SECRET = "stand-in-secret";

    @TempDir
    Path dir;

    private HttpServer server;
    private final Map<String, byte[]> objects = new ConcurrentHashMap<>();
    private final AtomicInteger gets = new AtomicInteger();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void shouldUploadCheckExistenceAndDownloadVerifiedFolders() throws IOException {
        S3BlobStore store = store(SECRET);
        Path model = Files.createDirectories(dir.resolve("model"));
        Files.writeString(model.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
        Files.write(model.resolve("model.safetensors"), new byte[70_000]);
        BlobRef ref = store.put(model, "soups/v1.tar");
        assertEquals(URI.create("s3://salsa-test/runs/soups/v1.tar"), ref.uri());
        assertEquals(new LocalBlobStore(dir.resolve("local")).put(model, "x.tar").sha256(), ref.sha256(),
                "a folder hashes the same in every store");
        assertTrue(objects.containsKey("/salsa-test/runs/soups/v1.tar"));
        assertTrue(store.exists(ref.uri()));
        assertFalse(store.exists(URI.create("s3://salsa-test/runs/none")));

        Path unpacked = store.getFolder(ref.uri(), ref.sha256(), dir.resolve("unpacked"));
        assertEquals("{\"model_type\": \"gpt2\"}", Files.readString(unpacked.resolve("config.json")));
        assertEquals(70_000, Files.size(unpacked.resolve("model.safetensors")));
        store.get(ref);
        assertEquals(1, gets.get(), "a verified cached blob is not downloaded again");
    }

    @Test
    void shouldRefuseATamperedDownloadAndKeepNothing() throws IOException {
        S3BlobStore store = store(SECRET);
        BlobRef ref = store.put(Files.writeString(dir.resolve("w.bin"), "weights"), "w.bin");
        objects.put("/salsa-test/runs/w.bin", "tampered".getBytes(StandardCharsets.UTF_8));
        BlobIntegrityException e = assertThrows(BlobIntegrityException.class, () -> store.get(ref));
        assertTrue(e.getMessage().contains("s3://salsa-test/runs/w.bin"), e.getMessage());
        try (var cached = Files.list(dir.resolve("cache"))) {
            assertEquals(0, cached.count(), "nothing unverified stays in the cache");
        }
    }

    @Test
    void shouldReportRejectedSignaturesAndMissingObjects() throws IOException {
        S3BlobStore wrong = store("not-the-secret");
        IOException e = assertThrows(IOException.class,
                () -> wrong.put(Files.writeString(dir.resolve("w.bin"), "w"), "w.bin"));
        assertTrue(e.getMessage().contains("HTTP 403") && e.getMessage().contains("SignatureDoesNotMatch"), e.getMessage());
        java.nio.file.NoSuchFileException missing = assertThrows(java.nio.file.NoSuchFileException.class,
                () -> store(SECRET).get(URI.create("s3://salsa-test/runs/none"), "0".repeat(64)));
        assertTrue(missing.getMessage().contains("blob not found"));
    }

    @Test
    void shouldDeleteAnObjectSoItNoLongerExistsAndDeleteAgainHarmlessly() throws IOException {
        S3BlobStore store = store(SECRET);
        BlobRef kept = store.put(Files.writeString(dir.resolve("k.bin"), "kept"), "runs/r/policy-v1.tar");
        BlobRef gone = store.put(Files.writeString(dir.resolve("g.bin"), "gone"), "runs/r/policy-v0.tar");
        assertTrue(store.delete(gone.uri()));
        assertFalse(store.exists(gone.uri()));
        assertFalse(objects.containsKey("/salsa-test/runs/runs/r/policy-v0.tar"), "the object itself is gone");
        assertTrue(store.exists(kept.uri()), "only the named object is deleted");
        assertTrue(store.delete(gone.uri()), "a second delete is not an error (S3 answers 204 for a missing key)");
        assertThrows(java.nio.file.NoSuchFileException.class, () -> store.get(gone));
        assertThrows(IllegalArgumentException.class, () -> store.delete(URI.create("s3://other-bucket/x")));
    }

    private S3BlobStore store(String secret) {
        S3Config config = new S3Config(URI.create("http://127.0.0.1:" + server.getAddress().getPort()), "us-east-1",
                "salsa-test", "runs", ACCESS, secret, null, true, dir.resolve("cache"));
        return new S3BlobStore(config, HttpClient.newHttpClient(), Clock.systemUTC());
    }

    /** Verifies the signature the way S3 does (recomputes it from the received request) and serves the object map. */
    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String method = ex.getRequestMethod();
            String path = ex.getRequestURI().getRawPath();
            byte[] body = ex.getRequestBody().readAllBytes();
            String payloadHash = ex.getRequestHeaders().getFirst("x-amz-content-sha256");
            String amzDate = ex.getRequestHeaders().getFirst("x-amz-date");
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            String signedHeaders = auth.replaceAll(".*SignedHeaders=([^,]+),.*", "$1");
            Map<String, String> headers = new LinkedHashMap<>();
            for (String h : signedHeaders.split(";")) {
                if (!h.equals("x-amz-date")) {
                    headers.put(h, ex.getRequestHeaders().getFirst(h));
                }
            }
            Instant time = LocalDateTime.parse(amzDate, DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'"))
                    .toInstant(ZoneOffset.UTC);
            String expected = new SigV4Signer(ACCESS, SECRET, "us-east-1", "s3")
                    .sign(method, path, Map.of(), headers, payloadHash, time).authorization();
            if (!expected.equals(auth)) {
                reply(ex, 403, "<Error><Code>SignatureDoesNotMatch</Code></Error>");
                return;
            }
            if (!payloadHash.equals(Sha256.of(body))) {
                reply(ex, 400, "<Error><Code>XAmzContentSHA256Mismatch</Code></Error>");
                return;
            }
            switch (method) {
                case "PUT" -> {
                    objects.put(path, body);
                    reply(ex, 200, "");
                }
                case "GET", "HEAD" -> {
                    byte[] object = objects.get(path);
                    if (object == null) {
                        reply(ex, 404, method.equals("HEAD") ? null : "<Error><Code>NoSuchKey</Code></Error>");
                    } else if (method.equals("HEAD")) {
                        ex.sendResponseHeaders(200, -1);
                    } else {
                        gets.incrementAndGet();
                        ex.sendResponseHeaders(200, object.length);
                        ex.getResponseBody().write(object);
                    }
                }
                case "DELETE" -> {
                    // as S3: 204 whether or not the key existed
                    objects.remove(path);
                    reply(ex, 204, "");
                }
                default -> reply(ex, 405, "");
            }
        }
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        if (body == null || body.isEmpty()) {
            ex.sendResponseHeaders(status, -1);
            return;
        }
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(b);
        }
    }
}
