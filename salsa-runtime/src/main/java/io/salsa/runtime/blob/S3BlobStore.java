package io.salsa.runtime.blob;

import io.salsa.runtime.io.FileOps;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * A {@link BlobStore} on an S3-compatible object store through the AWS SDK v2 (its synchronous client over the
 * JDK's URL connection), for deployments on more than one machine.
 *
 * <p>Files above {@link S3Config#multipartThreshold()} are uploaded in parts read straight from the file (never
 * held in memory), and an upload that fails part-way is aborted so no parts are left to pay for. Every object
 * carries its SHA-256 as {@code x-amz-meta-sha256}. Downloads stream into a temporary file in the cache folder
 * while being hashed, and only a file whose SHA-256 matches is renamed to {@code cacheDir/<sha256>}; a later
 * {@code get} of the same blob re-verifies the cached file instead of downloading. Errors name the operation, the
 * object, the endpoint and, for refused credentials or a missing bucket, what to check.
 */
public final class S3BlobStore implements BlobStore, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(S3BlobStore.class);
    /** S3 accepts at most this many parts per upload. */
    static final int MAX_PARTS = 10_000;
    private final S3Config config;
    private final S3Client s3;
    private volatile boolean bucketSeen;

    public S3BlobStore(S3Config config) {
        this.config = config;
        var builder = S3Client.builder()
                .httpClient(UrlConnectionHttpClient.builder().connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(Duration.ofMinutes(2)).build())
                .region(Region.of(config.region()))
                .credentialsProvider(credentials(config))
                .forcePathStyle(config.pathStyle())
                .requestChecksumCalculation(config.flexibleChecksums() ? RequestChecksumCalculation.WHEN_SUPPORTED
                        : RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(config.flexibleChecksums() ? ResponseChecksumValidation.WHEN_SUPPORTED
                        : ResponseChecksumValidation.WHEN_REQUIRED)
                .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.standardRetryStrategy().toBuilder()
                        .maxAttempts(config.maxAttempts()).build()));
        if (config.endpoint() != null) {
            builder.endpointOverride(config.endpoint());
        }
        this.s3 = builder.build();
    }

    private static AwsCredentialsProvider credentials(S3Config config) {
        if (!config.staticCredentials()) {
            return DefaultCredentialsProvider.builder().build();
        }
        return StaticCredentialsProvider.create(config.sessionToken() == null
                ? AwsBasicCredentials.create(config.accessKey(), config.secretKey())
                : AwsSessionCredentials.create(config.accessKey(), config.secretKey(), config.sessionToken()));
    }

    /** The settings this store was opened with. */
    public S3Config config() {
        return config;
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
            String objectKey = objectKey(key);
            URI uri = URI.create("s3://" + config.bucket() + "/" + objectKey);
            Map<String, String> metadata = Map.of("sha256", sha);
            try {
                if (size > config.multipartThreshold()) {
                    putMultipart(upload, size, objectKey, metadata);
                } else {
                    s3.putObject(b -> b.bucket(config.bucket()).key(objectKey).metadata(metadata),
                            RequestBody.fromFile(upload));
                }
            } catch (SdkException e) {
                throw failure("upload", uri, e);
            }
            return new BlobRef(uri, sha, size);
        } finally {
            if (tmp != null) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /** The part size for a file of {@code size} bytes: the configured one, raised to stay within 10,000 parts. */
    static long partSize(long size, long configured) {
        long needed = (size + MAX_PARTS - 1) / MAX_PARTS;
        return Math.max(configured, needed);
    }

    private void putMultipart(Path file, long size, String objectKey, Map<String, String> metadata) {
        long partSize = partSize(size, config.partSize());
        String uploadId = s3.createMultipartUpload(b -> b.bucket(config.bucket()).key(objectKey).metadata(metadata))
                .uploadId();
        try {
            List<CompletedPart> parts = new ArrayList<>();
            int number = 1;
            for (long offset = 0; offset < size; offset += partSize, number++) {
                long length = Math.min(partSize, size - offset);
                int partNumber = number;
                String etag = s3.uploadPart(b -> b.bucket(config.bucket()).key(objectKey).uploadId(uploadId)
                        .partNumber(partNumber).contentLength(length),
                        RequestBody.fromContentProvider(range(file, offset, length), length,
                                "application/octet-stream")).eTag();
                parts.add(CompletedPart.builder().partNumber(partNumber).eTag(etag).build());
            }
            s3.completeMultipartUpload(b -> b.bucket(config.bucket()).key(objectKey).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(parts)));
            LOG.debug("uploaded s3://{}/{} in {} parts of {} bytes", config.bucket(), objectKey, parts.size(),
                    partSize);
        } catch (RuntimeException e) {
            try {
                s3.abortMultipartUpload(b -> b.bucket(config.bucket()).key(objectKey).uploadId(uploadId));
            } catch (RuntimeException abort) {
                e.addSuppressed(abort);
            }
            throw e;
        }
    }

    /** Bytes {@code [offset, offset+length)} of {@code file}, re-opened for every attempt the SDK makes. */
    private static ContentStreamProvider range(Path file, long offset, long length) {
        return () -> {
            try {
                FileChannel ch = FileChannel.open(file, StandardOpenOption.READ).position(offset);
                return new Limited(Channels.newInputStream(ch), length);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(file + ": cannot read bytes " + offset + "+" + length, e);
            }
        };
    }

    @Override
    public Path get(URI uri, String expectedSha256) throws IOException {
        String objectKey = keyOf(uri);
        if (!Sha256.isHex(expectedSha256)) {
            throw new IllegalArgumentException("expected sha256 must be 64 hex digits, got " + expectedSha256);
        }
        Path cacheDir = Files.createDirectories(config.cacheDir());
        Path cached = cacheDir.resolve(expectedSha256.toLowerCase(Locale.ROOT));
        if (Files.isRegularFile(cached)) {
            LocalBlobStore.verify(cached, uri, expectedSha256);
            return cached;
        }
        Path tmp = Files.createTempFile(cacheDir, "download-", ".partial");
        try {
            MessageDigest md = Sha256.digest();
            try (OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), md)) {
                s3.getObject(b -> b.bucket(config.bucket()).key(objectKey), ResponseTransformer.toOutputStream(out));
            } catch (NoSuchKeyException e) {
                throw new NoSuchFileException(uri.toString(), null, "blob not found at " + config.endpointDescription());
            } catch (SdkException e) {
                throw failure("download", uri, e);
            }
            LocalBlobStore.check(Sha256.hex(md.digest()), uri, expectedSha256);
            FileOps.moveAtomically(tmp, cached);
            return cached;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public boolean exists(URI uri) throws IOException {
        String objectKey = keyOf(uri);
        try {
            s3.headObject(b -> b.bucket(config.bucket()).key(objectKey));
            return true;
        } catch (NoSuchKeyException e) {
            checkBucket(uri);
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                checkBucket(uri);
                return false;
            }
            throw failure("look up", uri, e);
        } catch (SdkException e) {
            throw failure("look up", uri, e);
        }
    }

    /**
     * A {@code DELETE} of the object. S3 answers 204 whether or not the key existed, so this returns true. Verified
     * copies in the cache folder are left: they are keyed by SHA-256 and re-verified on use.
     */
    @Override
    public boolean delete(URI uri) throws IOException {
        String objectKey = keyOf(uri);
        try {
            s3.deleteObject(b -> b.bucket(config.bucket()).key(objectKey));
            return true;
        } catch (SdkException e) {
            throw failure("delete", uri, e);
        }
    }

    /** A HEAD answers 404 without saying whether the key or the bucket is missing: ask about the bucket once. */
    private void checkBucket(URI uri) throws IOException {
        if (bucketSeen) {
            return;
        }
        try {
            s3.headBucket(b -> b.bucket(config.bucket()));
            bucketSeen = true;
        } catch (SdkException e) {
            throw failure("look up", uri, e);
        }
    }

    @Override
    public void close() {
        s3.close();
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

    /** An SDK failure as an {@link IOException} whose message says what failed where and what to check. */
    private IOException failure(String operation, URI uri, SdkException e) {
        String where = " at " + config.endpointDescription();
        // a HEAD of the bucket has no body to carry the error code: its 404 can only mean the bucket
        if (e instanceof NoSuchBucketException || (e instanceof S3Exception s && s.statusCode() == 404
                && ("NoSuchBucket".equals(code(s)) || operation.equals("look up")))) {
            return new IOException("S3 bucket '" + config.bucket() + "' does not exist" + where + " (" + operation
                    + " " + uri + "): create it, or fix the bucket in SALSA_BLOB_STORE", e);
        }
        if (e instanceof S3Exception s && (s.statusCode() == 403 || s.statusCode() == 401)) {
            String code = code(s);
            return new IOException("S3" + where + " refused the credentials" + (config.staticCredentials()
                    ? " of access key '" + config.accessKey() + "' (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
                    : " of the AWS credential chain") + " for bucket '" + config.bucket() + "' (" + operation + " "
                    + uri + "): HTTP " + s.statusCode() + (code == null ? "" : " " + code), e);
        }
        if (e instanceof S3Exception s) {
            String code = code(s);
            return new IOException("S3 " + operation + " of " + uri + where + " failed: HTTP " + s.statusCode()
                    + (code == null ? "" : " " + code) + ": " + message(s), e);
        }
        if (e instanceof SdkClientException && !config.staticCredentials()
                && String.valueOf(e.getMessage()).contains("Unable to load credentials")) {
            return new IOException("cannot " + operation + " " + uri + ": no AWS credentials found for S3" + where
                    + ": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an IAM role ("
                    + e.getMessage() + ")", e);
        }
        if (e instanceof SdkClientException) {
            return new IOException("cannot " + operation + " " + uri + ": S3" + where + " did not answer ("
                    + config.maxAttempts() + " attempts): " + e.getMessage(), e);
        }
        return new IOException("S3 " + operation + " of " + uri + where + " failed: " + e.getMessage(), e);
    }

    private static String code(S3Exception e) {
        return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
    }

    private static String message(S3Exception e) {
        return e.awsErrorDetails() == null || e.awsErrorDetails().errorMessage() == null ? e.getMessage()
                : e.awsErrorDetails().errorMessage();
    }

    /** At most {@code remaining} bytes of a stream (a part of a file). */
    private static final class Limited extends FilterInputStream {
        private long remaining;

        Limited(InputStream in, long limit) {
            super(in);
            this.remaining = limit;
        }

        @Override
        public int read() throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int b = super.read();
            if (b >= 0) {
                remaining--;
            }
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int n = super.read(buf, off, (int) Math.min(len, remaining));
            if (n > 0) {
                remaining -= n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(Math.min(n, remaining));
            remaining -= skipped;
            return skipped;
        }

        @Override
        public int available() throws IOException {
            return (int) Math.min(super.available(), remaining);
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }
}
