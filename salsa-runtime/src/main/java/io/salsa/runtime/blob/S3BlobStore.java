package io.salsa.runtime.blob;

import io.salsa.runtime.io.FileOps;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@link BlobStore} on an S3-compatible object store over plain HTTP with our own SigV4 signing (JDK
 * {@code HttpClient}, no SDK), for deployments on more than one machine.
 *
 * <p>Uploads are single {@code PUT}s with the body's SHA-256 signed (so the server rejects a corrupted upload) and
 * stored as {@code x-amz-meta-sha256}; objects above 5 GiB would need multipart upload, which is not implemented.
 * Downloads go to a temporary file in the cache folder, are verified, and only then renamed to
 * {@code cacheDir/<sha256>}; a later {@code get} of the same blob re-verifies the cached file instead of downloading.
 * No S3 server can run on the build machine, so this class is tested against AWS's published signing vectors and
 * an in-process stand-in that speaks the few requests used here (PUT, GET, HEAD, DELETE); it has not been run
 * against AWS itself.
 */
public final class S3BlobStore implements BlobStore {

    /** Largest single PUT S3 accepts. */
    static final long MAX_SINGLE_PUT = 5L << 30;
    private final S3Config config;
    private final HttpClient http;
    private final SigV4Signer signer;
    private final Clock clock;

    public S3BlobStore(S3Config config) {
        this(config, HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build(), Clock.systemUTC());
    }

    public S3BlobStore(S3Config config, HttpClient http, Clock clock) {
        this.config = config;
        this.http = http;
        this.clock = clock;
        this.signer = new SigV4Signer(config.accessKey(), config.secretKey(), config.region(), "s3");
    }

    @Override
    public BlobRef put(Path fileOrFolder, String key) throws IOException {
        BlobStore.checkKey(key);
        if (!Files.exists(fileOrFolder)) {
            throw new NoSuchFileException(fileOrFolder.toString(), null, "nothing to store");
        }
        Path upload = fileOrFolder;
        Path tmp = null;
        try {
            String sha;
            if (Files.isDirectory(fileOrFolder)) {
                Files.createDirectories(config.cacheDir());
                tmp = Files.createTempFile(config.cacheDir(), "upload-", ".tar");
                sha = DeterministicTar.write(fileOrFolder, tmp);
                upload = tmp;
            } else {
                sha = Sha256.of(fileOrFolder);
            }
            long size = Files.size(upload);
            if (size > MAX_SINGLE_PUT) {
                throw new IOException(fileOrFolder + ": " + size + " bytes exceed the 5 GiB single-PUT limit; multipart "
                        + "upload is not implemented");
            }
            String objectKey = objectKey(key);
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put("x-amz-meta-sha256", sha);
            HttpResponse<String> response = send("PUT", objectKey, headers, sha,
                    HttpRequest.BodyPublishers.ofFile(upload), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 != 2) {
                throw error("PUT", objectKey, response.statusCode(), response.body());
            }
            return new BlobRef(URI.create("s3://" + config.bucket() + "/" + objectKey), sha, size);
        } finally {
            if (tmp != null) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    @Override
    public Path get(URI uri, String expectedSha256) throws IOException {
        String objectKey = keyOf(uri);
        if (!Sha256.isHex(expectedSha256)) {
            throw new IllegalArgumentException("expected sha256 must be 64 hex digits, got " + expectedSha256);
        }
        Path cacheDir = Files.createDirectories(config.cacheDir());
        Path cached = cacheDir.resolve(expectedSha256.toLowerCase(java.util.Locale.ROOT));
        if (Files.isRegularFile(cached)) {
            LocalBlobStore.verify(cached, uri, expectedSha256);
            return cached;
        }
        Path tmp = Files.createTempFile(cacheDir, "download-", ".partial");
        try {
            HttpResponse<Path> response = send("GET", objectKey, Map.of(), SigV4Signer.EMPTY_SHA256,
                    HttpRequest.BodyPublishers.noBody(), HttpResponse.BodyHandlers.ofFile(tmp));
            if (response.statusCode() == 404) {
                throw new NoSuchFileException(uri.toString(), null, "blob not found");
            }
            if (response.statusCode() / 100 != 2) {
                throw error("GET", objectKey, response.statusCode(), Files.readString(tmp));
            }
            LocalBlobStore.verify(tmp, uri, expectedSha256);
            FileOps.moveAtomically(tmp, cached);
            return cached;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public boolean exists(URI uri) throws IOException {
        String objectKey = keyOf(uri);
        HttpResponse<Void> response = send("HEAD", objectKey, Map.of(), SigV4Signer.EMPTY_SHA256,
                HttpRequest.BodyPublishers.noBody(), HttpResponse.BodyHandlers.discarding());
        if (response.statusCode() == 404) {
            return false;
        }
        if (response.statusCode() / 100 != 2) {
            throw error("HEAD", objectKey, response.statusCode(), "");
        }
        return true;
    }

    /**
     * A {@code DELETE} of the object. S3 answers 204 whether or not the key existed, so this returns true unless
     * the server says 404 (some S3-compatible servers do). Verified copies in the cache folder are left: they are
     * keyed by SHA-256 and re-verified on use, and the cache is pruned separately.
     */
    @Override
    public boolean delete(URI uri) throws IOException {
        String objectKey = keyOf(uri);
        HttpResponse<String> response = send("DELETE", objectKey, Map.of(), SigV4Signer.EMPTY_SHA256,
                HttpRequest.BodyPublishers.noBody(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 404) {
            return false;
        }
        if (response.statusCode() / 100 != 2) {
            throw error("DELETE", objectKey, response.statusCode(), response.body());
        }
        return true;
    }

    private <T> HttpResponse<T> send(String method, String objectKey, Map<String, String> extraHeaders,
            String payloadSha256, HttpRequest.BodyPublisher body, HttpResponse.BodyHandler<T> handler)
            throws IOException {
        URI endpoint = config.endpoint();
        String basePath = endpoint.getRawPath() == null ? "" : endpoint.getRawPath().replaceAll("/+$", "");
        String host = endpoint.getHost();
        String path;
        if (config.pathStyle()) {
            path = basePath + "/" + config.bucket() + "/" + objectKey;
        } else {
            host = config.bucket() + "." + host;
            path = basePath + "/" + objectKey;
        }
        String hostHeader = endpoint.getPort() < 0 ? host : host + ":" + endpoint.getPort();
        String encodedPath = SigV4Signer.encodePath(path);
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("host", hostHeader);
        headers.put("x-amz-content-sha256", payloadSha256);
        if (config.sessionToken() != null && !config.sessionToken().isBlank()) {
            headers.put("x-amz-security-token", config.sessionToken());
        }
        headers.putAll(extraHeaders);
        SigV4Signer.Signature sig = signer.sign(method, encodedPath, Map.of(), headers, payloadSha256, clock.instant());
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(endpoint.getScheme() + "://" + hostHeader
                + encodedPath)).timeout(Duration.ofMinutes(30)).method(method, body);
        // the client sets Host itself (restricted header) to the same value that was signed
        sig.headers().forEach((k, v) -> {
            if (!k.equalsIgnoreCase("host")) {
                request.header(k, v);
            }
        });
        try {
            return http.send(request.build(), handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(method + " " + objectKey + " interrupted");
        }
    }

    private String objectKey(String key) {
        return config.prefix().isEmpty() ? key : config.prefix() + "/" + key;
    }

    private String keyOf(URI uri) {
        if (!"s3".equalsIgnoreCase(uri.getScheme()) || !config.bucket().equals(uri.getHost())) {
            throw new IllegalArgumentException("this store reads s3://" + config.bucket() + "/… URIs, not " + uri);
        }
        String key = uri.getPath().replaceFirst("^/", "");
        BlobStore.checkKey(key);
        return key;
    }

    private static IOException error(String method, String key, int status, String body) {
        String detail = body == null ? "" : body.replaceAll("\\s+", " ").trim();
        if (detail.length() > 300) {
            detail = detail.substring(0, 300) + "…";
        }
        return new IOException("S3 " + method + " " + key + " failed: HTTP " + status + (detail.isEmpty() ? "" : ": " + detail));
    }
}
