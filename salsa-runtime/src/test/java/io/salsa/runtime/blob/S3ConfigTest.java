package io.salsa.runtime.blob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

class S3ConfigTest {

    private static final Map<String, String> KEYS = Map.of("AWS_ACCESS_KEY_ID", "AKID", "AWS_SECRET_ACCESS_KEY", "s",
            "SALSA_BLOB_CACHE", "/tmp/cache");

    private static S3Config config(Map<String, String> extra) {
        var env = new java.util.HashMap<>(KEYS);
        env.putAll(extra);
        return S3Config.fromEnv("salsa-blobs", "/runs/", env);
    }

    @Test
    void shouldTakeTheEndpointFromSalsaS3EndpointThenAwsEndpointUrlS3ThenAwsEndpointUrl() {
        Map<String, String> all = Map.of("SALSA_S3_ENDPOINT", "http://a:1", "AWS_ENDPOINT_URL_S3", "http://b:2",
                "AWS_ENDPOINT_URL", "http://c:3");
        assertEquals(URI.create("http://a:1"), config(all).endpoint());
        assertEquals("SALSA_S3_ENDPOINT", config(all).endpointSource());
        assertEquals(URI.create("http://b:2"), config(Map.of("AWS_ENDPOINT_URL_S3", "http://b:2",
                "AWS_ENDPOINT_URL", "http://c:3")).endpoint());
        S3Config compose = config(Map.of("AWS_ENDPOINT_URL", "http://minio:9000"));
        assertEquals(URI.create("http://minio:9000"), compose.endpoint(), "docker-compose's variable is honoured");
        assertTrue(compose.pathStyle(), "path-style by default with an endpoint (MinIO, S3Proxy)");
        assertFalse(compose.flexibleChecksums(), "signed whole payloads for S3-compatible servers");
        S3Config aws = config(Map.of("AWS_REGION", "eu-west-1"));
        assertNull(aws.endpoint(), "AWS S3 itself: the SDK derives the regional endpoint");
        assertFalse(aws.pathStyle());
        assertTrue(aws.flexibleChecksums(), "the SDK's CRC checksums for AWS");
        assertTrue(config(Map.of("AWS_ENDPOINT_URL", "http://minio:9000", "AWS_REQUEST_CHECKSUM_CALCULATION",
                "WHEN_SUPPORTED")).flexibleChecksums());
        assertEquals("AWS S3 (eu-west-1)", aws.endpointDescription());
        assertFalse(config(Map.of("AWS_ENDPOINT_URL", "http://minio:9000", "SALSA_S3_PATH_STYLE", "false"))
                .pathStyle());
        assertEquals("runs", aws.prefix());
    }

    @Test
    void shouldReadRegionCredentialsAndSizes() {
        S3Config c = config(Map.of("AWS_DEFAULT_REGION", "eu-central-1", "SALSA_S3_MULTIPART_THRESHOLD", "100MiB",
                "SALSA_S3_PART_SIZE", "8388608", "AWS_MAX_ATTEMPTS", "5"));
        assertEquals("eu-central-1", c.region());
        assertEquals(100L << 20, c.multipartThreshold());
        assertEquals(8L << 20, c.partSize());
        assertEquals(5, c.maxAttempts());
        assertTrue(c.staticCredentials());
        assertFalse(c.toString().contains("=s,"), "the secret is never printed");
        S3Config chain = S3Config.fromEnv("salsa-blobs", "", Map.of());
        assertFalse(chain.staticCredentials(), "no keys: the AWS credential chain is asked");
        assertEquals("us-east-1", chain.region());
        assertEquals(64L << 20, chain.multipartThreshold());
        assertEquals(16L << 20, chain.partSize());
    }

    @Test
    void shouldRaiseThePartSizeToStayWithinTenThousandParts() {
        assertEquals(16L << 20, S3BlobStore.partSize(200L << 20, 16L << 20));
        long huge = 500L << 30;
        long part = S3BlobStore.partSize(huge, 16L << 20);
        assertTrue((huge + part - 1) / part <= 10_000, "at most 10,000 parts");
    }

    @Test
    void shouldNameTheBadSetting() {
        for (var bad : Map.of("SALSA_S3_ENDPOINT", "minio:9000", "AWS_ENDPOINT_URL", "ftp://x",
                "SALSA_S3_PART_SIZE", "1MiB", "SALSA_S3_MULTIPART_THRESHOLD", "lots", "SALSA_S3_PATH_STYLE", "yes",
                "AWS_MAX_ATTEMPTS", "0", "AWS_REQUEST_CHECKSUM_CALCULATION", "always").entrySet()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> config(Map.of(bad.getKey(), bad.getValue())), bad.toString());
            assertTrue(e.getMessage().contains(bad.getKey()), e.getMessage());
        }
    }
}
