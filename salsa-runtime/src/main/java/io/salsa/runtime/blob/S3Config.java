package io.salsa.runtime.blob;

import java.net.URI;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where and how to reach an S3-compatible object store (AWS S3, MinIO, Ceph, R2 …), validated so a missing or bad
 * setting is named.
 *
 * @param endpoint     base URL, e.g. {@code https://s3.eu-west-1.amazonaws.com} or {@code http://minio:9000}
 * @param region       signing region ({@code us-east-1} for most S3-compatible servers)
 * @param bucket       bucket name
 * @param prefix       key prefix inside the bucket ({@code ""} for none)
 * @param accessKey    access key id
 * @param secretKey    secret access key
 * @param sessionToken temporary-credential token, or {@code null}
 * @param pathStyle    {@code endpoint/bucket/key} (MinIO and most compatible stores) rather than {@code bucket.host/key}
 * @param cacheDir     local folder for downloaded, verified blobs
 */
public record S3Config(URI endpoint, String region, String bucket, String prefix, String accessKey, String secretKey,
        String sessionToken, boolean pathStyle, Path cacheDir) {

    public S3Config {
        if (endpoint == null || endpoint.getHost() == null
                || !("http".equals(endpoint.getScheme()) || "https".equals(endpoint.getScheme()))) {
            throw new IllegalArgumentException("SALSA_S3_ENDPOINT must be an http(s) URL, got " + endpoint);
        }
        require("AWS_REGION", region);
        require("bucket", bucket);
        require("AWS_ACCESS_KEY_ID", accessKey);
        require("AWS_SECRET_ACCESS_KEY", secretKey);
        if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
            throw new IllegalArgumentException("bucket must be 3-63 lower-case letters, digits, '.' or '-', got " + bucket);
        }
        prefix = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
        if (cacheDir == null) {
            throw new IllegalArgumentException("cacheDir must be set");
        }
    }

    /**
     * Settings from the environment for {@code s3://bucket/prefix}: {@code SALSA_S3_ENDPOINT} (default
     * {@code https://s3.<region>.amazonaws.com}), {@code AWS_REGION} (default {@code us-east-1}),
     * {@code AWS_ACCESS_KEY_ID}, {@code AWS_SECRET_ACCESS_KEY}, optional {@code AWS_SESSION_TOKEN},
     * {@code SALSA_S3_PATH_STYLE} (default true) and {@code SALSA_BLOB_CACHE} (default {@code ~/.cache/salsa/blobs}).
     */
    public static S3Config fromEnv(String bucket, String prefix, Map<String, String> env) {
        String region = env.getOrDefault("AWS_REGION", env.getOrDefault("AWS_DEFAULT_REGION", "us-east-1"));
        String endpoint = env.getOrDefault("SALSA_S3_ENDPOINT", "https://s3." + region + ".amazonaws.com");
        String cache = env.getOrDefault("SALSA_BLOB_CACHE",
                Path.of(System.getProperty("user.home"), ".cache", "salsa", "blobs").toString());
        String pathStyle = env.getOrDefault("SALSA_S3_PATH_STYLE", "true");
        if (!pathStyle.equals("true") && !pathStyle.equals("false")) {
            throw new IllegalArgumentException("SALSA_S3_PATH_STYLE must be true or false, got " + pathStyle);
        }
        return new S3Config(URI.create(endpoint), region, bucket, prefix, env.get("AWS_ACCESS_KEY_ID"),
                env.get("AWS_SECRET_ACCESS_KEY"), env.get("AWS_SESSION_TOKEN"), Boolean.parseBoolean(pathStyle),
                Path.of(cache));
    }

    private static void require(String name, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(name + " must be set for the S3 blob store");
        }
    }

    @Override
    public String toString() {
        // never print the secret
        return "S3Config[endpoint=" + endpoint + ", region=" + region + ", bucket=" + bucket + ", prefix=" + prefix
                + ", accessKey=" + accessKey + ", pathStyle=" + pathStyle + ", cacheDir=" + cacheDir + "]";
    }
}
