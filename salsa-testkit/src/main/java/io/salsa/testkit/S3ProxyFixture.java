package io.salsa.testkit;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;
import org.jclouds.blobstore.domain.MultipartPart;
import org.jclouds.blobstore.domain.MultipartUpload;
import org.jclouds.blobstore.domain.StorageMetadata;
import org.jclouds.blobstore.options.ListContainerOptions;
import org.jclouds.blobstore.util.ForwardingBlobStore;

/**
 * A real S3 API server in this JVM (S3Proxy on a folder, AWS signature V2/V4 checked), so S3 clients are tested
 * without Docker, MinIO or AWS: it stands in for MinIO wherever a test needs an S3 endpoint.
 *
 * <p>Test scope only; the module using it must declare {@code org.gaul:s3proxy} (test scope) itself, and needs
 * Jetty 11 on its test classpath (S3Proxy 2.6.0 is built on it; see {@code salsa-runtime/pom.xml}).
 */
public final class S3ProxyFixture implements AutoCloseable {

    /** The credentials the server accepts. */
    public static final String ACCESS_KEY = "salsa-test-access";
    public static final String SECRET_KEY = "salsa-test-secret-key";
    public static final String REGION = "us-east-1";

    private final BlobStoreContext context;
    private final S3Proxy proxy;
    private final URI endpoint;
    private final Map<String, Integer> multipartUploads;

    private S3ProxyFixture(BlobStoreContext context, S3Proxy proxy, Map<String, Integer> multipartUploads) {
        this.context = context;
        this.proxy = proxy;
        this.multipartUploads = multipartUploads;
        this.endpoint = URI.create("http://127.0.0.1:" + proxy.getPort());
    }

    /**
     * Starts a server on a free loopback port that keeps its objects as files under {@code dataDir} (created),
     * and answers only requests signed with {@link #ACCESS_KEY} / {@link #SECRET_KEY}.
     */
    public static S3ProxyFixture start(Path dataDir) throws Exception {
        return start(dataDir, 0);
    }

    /** As {@link #start(Path)} on a given port of 127.0.0.1 (0 = a free one). */
    public static S3ProxyFixture start(Path dataDir, int port) throws Exception {
        Properties props = new Properties();
        props.setProperty("jclouds.filesystem.basedir", Files.createDirectories(dataDir).toAbsolutePath().toString());
        BlobStoreContext context = ContextBuilder.newBuilder("filesystem-nio2").credentials("unused", "unused")
                .overrides(props).build(BlobStoreContext.class);
        Map<String, Integer> multipartUploads = new ConcurrentHashMap<>();
        S3Proxy proxy = S3Proxy.builder().blobStore(new ForwardingBlobStore(context.getBlobStore()) {
                    @Override
                    public String completeMultipartUpload(MultipartUpload upload, List<MultipartPart> parts) {
                        String etag = super.completeMultipartUpload(upload, parts);
                        multipartUploads.put(upload.containerName() + "/" + upload.blobName(), parts.size());
                        return etag;
                    }
                })
                .endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .build();
        try {
            proxy.start();
            Conditions.await("S3Proxy started", Duration.ofSeconds(30), () -> "STARTED".equals(proxy.getState()));
        } catch (Exception | AssertionError e) {
            proxy.stop();
            context.close();
            throw e;
        }
        return new S3ProxyFixture(context, proxy, multipartUploads);
    }

    /** {@code http://127.0.0.1:<port>}. */
    public URI endpoint() {
        return endpoint;
    }

    /**
     * The environment a salsa service would be given for this server, as docker-compose gives it for MinIO:
     * {@code AWS_ENDPOINT_URL}, {@code AWS_REGION}, {@code AWS_ACCESS_KEY_ID}, {@code AWS_SECRET_ACCESS_KEY}.
     */
    public Map<String, String> env() {
        return Map.of("AWS_ENDPOINT_URL", endpoint.toString(), "AWS_REGION", REGION,
                "AWS_ACCESS_KEY_ID", ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    }

    /** Creates a bucket (directly in the backing store, not through S3). */
    public void createBucket(String bucket) {
        context.getBlobStore().createContainerInLocation(null, bucket);
    }

    /** Every object key in {@code bucket}, read from the backing store, not through S3. */
    public List<String> keys(String bucket) {
        BlobStore store = context.getBlobStore();
        List<String> keys = new ArrayList<>();
        String marker = null;
        do {
            ListContainerOptions options = ListContainerOptions.Builder.recursive();
            if (marker != null) {
                options.afterMarker(marker);
            }
            var page = store.list(bucket, options);
            for (StorageMetadata m : page) {
                if (m.getType() == org.jclouds.blobstore.domain.StorageType.BLOB) {
                    keys.add(m.getName());
                }
            }
            marker = page.getNextMarker();
        } while (marker != null);
        return keys;
    }

    /** How many parts the last completed multipart upload of {@code bucket/key} had; null if none completed. */
    public Integer multipartParts(String bucket, String key) {
        return multipartUploads.get(bucket + "/" + key);
    }

    /** Replaces an object's bytes behind the S3 API's back, as bit rot or a careless operator would. */
    public void overwrite(String bucket, String key, byte[] bytes) throws IOException {
        BlobStore store = context.getBlobStore();
        if (!store.blobExists(bucket, key)) {
            throw new IOException("no object " + key + " in bucket " + bucket);
        }
        store.putBlob(bucket, store.blobBuilder(key).payload(bytes).contentLength(bytes.length).build());
    }

    /**
     * Runs the server as its own process, for tests whose JVM cannot hold S3Proxy's Jetty 11 (one with Jetty 12 on
     * its class path, such as feedback-ingest's): {@code java -cp <a class path with s3proxy and Jetty 11>
     * io.salsa.testkit.S3ProxyFixture DIR PORT [BUCKET…]} prints {@code endpoint=http://127.0.0.1:PORT} once it
     * serves, and serves until killed.
     */
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: S3ProxyFixture DIR PORT [BUCKET...]");
            System.exit(2);
        }
        S3ProxyFixture s3 = start(Path.of(args[0]), Integer.parseInt(args[1]));
        for (int i = 2; i < args.length; i++) {
            s3.createBucket(args[i]);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                s3.close();
            } catch (Exception e) {
                e.printStackTrace();
            }
        }));
        System.out.println("endpoint=" + s3.endpoint());
        System.out.flush();
        Thread.currentThread().join();
    }

    @Override
    public void close() throws Exception {
        try {
            proxy.stop();
        } finally {
            context.close();
        }
    }
}
