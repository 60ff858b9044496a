package io.salsa.runtime.blob;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Where and how to reach an S3-compatible object store (AWS S3, MinIO, Ceph, R2, S3Proxy …), validated so a missing
 * or bad setting is named.
 *
 * @param endpoint           base URL ({@code http://minio:9000}), or {@code null} for AWS S3 itself (the SDK
 *                           derives {@code https://s3.<region>.amazonaws.com})
 * @param endpointSource     the setting the endpoint came from, for error messages ({@code null} with no endpoint)
 * @param region             signing region ({@code us-east-1} for most S3-compatible servers)
 * @param bucket             bucket name
 * @param prefix             key prefix inside the bucket ({@code ""} for none)
 * @param accessKey          access key id, or {@code null} to use the AWS SDK's default credential chain
 * @param secretKey          secret access key ({@code null} exactly when {@code accessKey} is)
 * @param sessionToken       temporary-credential token, or {@code null}
 * @param pathStyle          {@code endpoint/bucket/key} (MinIO, S3Proxy) rather than {@code bucket.host/key}
 * @param multipartThreshold files of more bytes are uploaded in parts
 * @param partSize           bytes per part of a multipart upload (raised for files that would need > 10,000 parts)
 * @param maxAttempts        attempts per request, retries included (the SDK's standard retry strategy)
 * @param flexibleChecksums  send and check the SDK's CRC checksums (aws-chunked uploads with a trailer) as AWS S3
 *                           does; off, uploads over http are SigV4-signed whole-payload SHA-256 instead, which
 *                           S3-compatible servers that predate flexible checksums (S3Proxy 2.6, older MinIO) need
 * @param cacheDir           local folder for downloaded, verified blobs
 */
public record S3Config(URI endpoint, String endpointSource, String region, String bucket, String prefix,
        String accessKey, String secretKey, String sessionToken, boolean pathStyle, long multipartThreshold,
        long partSize, int maxAttempts, boolean flexibleChecksums, Path cacheDir) {

    public static final String ENDPOINT_ENV = "SALSA_S3_ENDPOINT";
    public static final String PATH_STYLE_ENV = "SALSA_S3_PATH_STYLE";
    public static final String MULTIPART_THRESHOLD_ENV = "SALSA_S3_MULTIPART_THRESHOLD";
    public static final String PART_SIZE_ENV = "SALSA_S3_PART_SIZE";
    public static final String CACHE_ENV = "SALSA_BLOB_CACHE";
    /** S3's smallest part (except the last) and largest part. */
    static final long MIN_PART = 5L << 20;
    static final long MAX_PART = 5L << 30;
    static final long DEFAULT_THRESHOLD = 64L << 20;
    static final long DEFAULT_PART = 16L << 20;

    public S3Config {
        if (endpoint != null && (endpoint.getHost() == null
                || !("http".equals(endpoint.getScheme()) || "https".equals(endpoint.getScheme())))) {
            throw new IllegalArgumentException(endpointSource + " must be an http(s) URL, got " + endpoint);
        }
        require("AWS_REGION", region);
        require("bucket", bucket);
        if ((accessKey == null || accessKey.isBlank()) != (secretKey == null || secretKey.isBlank())) {
            throw new IllegalArgumentException("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together "
                    + "for the S3 blob store (or neither, to use the AWS credential chain: profile, web identity, "
                    + "container or instance credentials)");
        }
        if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
            throw new IllegalArgumentException("bucket must be 3-63 lower-case letters, digits, '.' or '-', got " + bucket);
        }
        prefix = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
        if (multipartThreshold < MIN_PART) {
            throw new IllegalArgumentException(MULTIPART_THRESHOLD_ENV + " must be at least 5MiB, got "
                    + multipartThreshold + " bytes");
        }
        if (partSize < MIN_PART || partSize > MAX_PART) {
            throw new IllegalArgumentException(PART_SIZE_ENV + " must be 5MiB to 5GiB (S3's part limits), got "
                    + partSize + " bytes");
        }
        if (maxAttempts < 1 || maxAttempts > 20) {
            throw new IllegalArgumentException("AWS_MAX_ATTEMPTS must be 1-20, got " + maxAttempts);
        }
        if (cacheDir == null) {
            throw new IllegalArgumentException("cacheDir must be set");
        }
    }

    /**
     * Settings from the environment for {@code s3://bucket/prefix}.
     *
     * <ul>
     * <li>endpoint: {@value #ENDPOINT_ENV}, else {@code AWS_ENDPOINT_URL_S3}, else {@code AWS_ENDPOINT_URL} (the
     * SDK's own names), else AWS S3 of the region;</li>
     * <li>region: {@code AWS_REGION}, else {@code AWS_DEFAULT_REGION}, else {@code us-east-1};</li>
     * <li>credentials: {@code AWS_ACCESS_KEY_ID} + {@code AWS_SECRET_ACCESS_KEY} (+ {@code AWS_SESSION_TOKEN}),
     * else the SDK's default chain (system properties, {@code ~/.aws} profile of {@code AWS_PROFILE}, web
     * identity, container and instance credentials);</li>
     * <li>{@value #PATH_STYLE_ENV}: default true with an endpoint (MinIO, S3Proxy), false for AWS;</li>
     * <li>{@value #MULTIPART_THRESHOLD_ENV} (default 64MiB), {@value #PART_SIZE_ENV} (default 16MiB): bytes, or
     * a number with {@code KiB}, {@code MiB} or {@code GiB};</li>
     * <li>{@code AWS_REQUEST_CHECKSUM_CALCULATION} ({@code WHEN_SUPPORTED} or {@code WHEN_REQUIRED}; default
     * {@code WHEN_SUPPORTED} for AWS, {@code WHEN_REQUIRED} with an endpoint), see {@link #flexibleChecksums};</li>
     * <li>{@code AWS_MAX_ATTEMPTS} (default 3) and {@value #CACHE_ENV} (default {@code ~/.cache/salsa/blobs}).</li>
     * </ul>
     */
    public static S3Config fromEnv(String bucket, String prefix, Map<String, String> env) {
        String region = first(env, "AWS_REGION", "AWS_DEFAULT_REGION");
        region = region == null ? "us-east-1" : region;
        String endpointSource = null;
        for (String name : new String[] {ENDPOINT_ENV, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
            if (first(env, name) != null) {
                endpointSource = name;
                break;
            }
        }
        URI endpoint = endpointSource == null ? null : url(endpointSource, env.get(endpointSource).strip());
        String cache = env.getOrDefault(CACHE_ENV,
                Path.of(System.getProperty("user.home"), ".cache", "salsa", "blobs").toString());
        String pathStyle = first(env, PATH_STYLE_ENV);
        if (pathStyle != null && !pathStyle.equals("true") && !pathStyle.equals("false")) {
            throw new IllegalArgumentException(PATH_STYLE_ENV + " must be true or false, got " + pathStyle);
        }
        String attempts = first(env, "AWS_MAX_ATTEMPTS");
        int maxAttempts;
        try {
            maxAttempts = attempts == null ? 3 : Integer.parseInt(attempts);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("AWS_MAX_ATTEMPTS must be a whole number, got " + attempts);
        }
        String checksums = first(env, "AWS_REQUEST_CHECKSUM_CALCULATION");
        if (checksums != null && !checksums.equalsIgnoreCase("when_supported")
                && !checksums.equalsIgnoreCase("when_required")) {
            throw new IllegalArgumentException("AWS_REQUEST_CHECKSUM_CALCULATION must be WHEN_SUPPORTED or "
                    + "WHEN_REQUIRED, got " + checksums);
        }
        boolean flexible = checksums == null ? endpoint == null : checksums.equalsIgnoreCase("when_supported");
        return new S3Config(endpoint, endpointSource, region, bucket, prefix, first(env, "AWS_ACCESS_KEY_ID"),
                first(env, "AWS_SECRET_ACCESS_KEY"), first(env, "AWS_SESSION_TOKEN"),
                pathStyle == null ? endpoint != null : Boolean.parseBoolean(pathStyle),
                bytes(env, MULTIPART_THRESHOLD_ENV, DEFAULT_THRESHOLD), bytes(env, PART_SIZE_ENV, DEFAULT_PART),
                maxAttempts, flexible, Path.of(cache));
    }

    /** The endpoint for messages: the URL and the setting it came from, or AWS S3 of the region. */
    public String endpointDescription() {
        return endpoint == null ? "AWS S3 (" + region + ")" : endpoint + " (" + endpointSource + ")";
    }

    /** Whether keys were given; otherwise the SDK's default credential chain is asked. */
    public boolean staticCredentials() {
        return accessKey != null && !accessKey.isBlank();
    }

    private static String first(Map<String, String> env, String... names) {
        for (String name : names) {
            String v = env.get(name);
            if (v != null && !v.isBlank()) {
                return v.strip();
            }
        }
        return null;
    }

    private static URI url(String name, String value) {
        try {
            return new URI(value);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(name + " must be an http(s) URL, got '" + value + "': "
                    + e.getMessage(), e);
        }
    }

    /** A size in bytes: digits, optionally followed by KiB, MiB or GiB. */
    static long bytes(Map<String, String> env, String name, long fallback) {
        String v = first(env, name);
        if (v == null) {
            return fallback;
        }
        var m = java.util.regex.Pattern.compile("(\\d{1,15})\\s*(|B|KiB|MiB|GiB)").matcher(v);
        if (!m.matches()) {
            throw new IllegalArgumentException(name + " must be a size in bytes, or a number with KiB, MiB or GiB "
                    + "(e.g. 64MiB), got '" + v + "'");
        }
        int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "kib" -> 10;
            case "mib" -> 20;
            case "gib" -> 30;
            default -> 0;
        };
        return Long.parseLong(m.group(1)) << shift;
    }

    private static void require(String name, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(name + " must be set for the S3 blob store");
        }
    }

    @Override
    public String toString() {
        // never print the secret
        return "S3Config[endpoint=" + endpointDescription() + ", bucket=" + bucket + ", prefix=" + prefix
                + ", accessKey=" + (staticCredentials() ? accessKey : "<credential chain>") + ", pathStyle="
                + pathStyle + ", multipartThreshold=" + multipartThreshold + ", partSize=" + partSize
                + ", maxAttempts=" + maxAttempts + ", flexibleChecksums=" + flexibleChecksums + ", cacheDir=" + cacheDir + "]";
    }
}
