package io.salsa.runtime.blob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK's retries as configured by {@code AWS_MAX_ATTEMPTS}, against a server that answers the first requests
 * with S3's "503 SlowDown" (S3Proxy cannot be told to fail; everything else is tested against it).
 */
class S3RetryTest {

    @TempDir
    Path dir;
    private HttpServer server;
    private final AtomicInteger requests = new AtomicInteger();
    private volatile int failFirst;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            try (ex) {
                ex.getRequestBody().readAllBytes();
                if (requests.incrementAndGet() <= failFirst) {
                    ex.sendResponseHeaders(503, -1); // a HEAD carries no body: the status is all S3 sends
                } else {
                    ex.getResponseHeaders().set("Content-Length", "3");
                    ex.sendResponseHeaders(200, -1);
                }
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private S3BlobStore store(String maxAttempts) throws IOException {
        return (S3BlobStore) BlobStores.fromUri("s3://salsa-test/runs", Map.of(
                "AWS_ENDPOINT_URL", "http://127.0.0.1:" + server.getAddress().getPort(),
                "AWS_ACCESS_KEY_ID", "AKID", "AWS_SECRET_ACCESS_KEY", "secret", "AWS_MAX_ATTEMPTS", maxAttempts,
                "SALSA_BLOB_CACHE", dir.resolve("cache").toString()));
    }

    @Test
    void shouldRetryAServerThatIsBusyAndGiveUpAfterTheConfiguredAttempts() throws IOException {
        failFirst = 2;
        try (S3BlobStore store = store("3")) {
            assertTrue(store.exists(URI.create("s3://salsa-test/runs/w.bin")), "answered on the third attempt");
        }
        assertEquals(3, requests.get());

        requests.set(0);
        failFirst = 5;
        try (S3BlobStore store = store("2")) {
            IOException e = assertThrows(IOException.class, () -> store.exists(URI.create("s3://salsa-test/runs/w.bin")));
            assertTrue(e.getMessage().contains("HTTP 503") && e.getMessage().contains("(AWS_ENDPOINT_URL)"),
                    e.getMessage());
        }
        assertEquals(2, requests.get(), "no more than AWS_MAX_ATTEMPTS requests");
    }
}
