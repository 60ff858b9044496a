package io.salsa.runtime.blob;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * AWS Signature Version 4 for request headers, written here so the S3 store needs no AWS SDK; checked against
 * AWS's published test vectors. Pure: no clock or I/O inside, the time is an argument.
 */
public final class SigV4Signer {

    /** SHA-256 of the empty payload. */
    public static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);

    private final String accessKey;
    private final String secretKey;
    private final String region;
    private final String service;

    public SigV4Signer(String accessKey, String secretKey, String region, String service) {
        this.accessKey = accessKey;
        this.secretKey = secretKey;
        this.region = region;
        this.service = service;
    }

    /** The parts of a signature, kept for tests and debugging. */
    public record Signature(String canonicalRequest, String stringToSign, String signature, String authorization,
            Map<String, String> headers) {
    }

    /**
     * Signs a request.
     *
     * @param method        HTTP method
     * @param canonicalPath the path already URI-encoded as sent ({@link #encodePath})
     * @param query         query parameters, unencoded (values may be empty)
     * @param headers       headers to sign, including {@code host}; {@code x-amz-date} is added
     * @param payloadSha256 hex SHA-256 of the body (or {@code UNSIGNED-PAYLOAD})
     * @param time          request time
     * @return the headers to send: the given ones, {@code x-amz-date} and {@code Authorization}
     */
    public Signature sign(String method, String canonicalPath, Map<String, String> query, Map<String, String> headers,
            String payloadSha256, Instant time) {
        String amzDate = AMZ_DATE.format(time);
        String date = amzDate.substring(0, 8);
        TreeMap<String, String> canonicalHeaders = new TreeMap<>();
        headers.forEach((k, v) -> canonicalHeaders.put(k.toLowerCase(Locale.ROOT), v.trim().replaceAll(" +", " ")));
        canonicalHeaders.put("x-amz-date", amzDate);
        StringBuilder ch = new StringBuilder();
        canonicalHeaders.forEach((k, v) -> ch.append(k).append(':').append(v).append('\n'));
        String signedHeaders = String.join(";", canonicalHeaders.keySet());
        String canonicalRequest = method + "\n" + canonicalPath + "\n" + canonicalQuery(query) + "\n" + ch + "\n"
                + signedHeaders + "\n" + payloadSha256;
        String scope = date + "/" + region + "/" + service + "/aws4_request";
        String stringToSign = "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n"
                + Sha256.of(canonicalRequest.getBytes(StandardCharsets.UTF_8));
        byte[] key = hmac(("AWS4" + secretKey).getBytes(StandardCharsets.UTF_8), date);
        key = hmac(key, region);
        key = hmac(key, service);
        key = hmac(key, "aws4_request");
        String signature = Sha256.hex(hmac(key, stringToSign));
        String authorization = "AWS4-HMAC-SHA256 Credential=" + accessKey + "/" + scope + ", SignedHeaders="
                + signedHeaders + ", Signature=" + signature;
        Map<String, String> out = new LinkedHashMap<>(headers);
        out.put("x-amz-date", amzDate);
        out.put("Authorization", authorization);
        return new Signature(canonicalRequest, stringToSign, signature, authorization, out);
    }

    /** Query string in canonical form: keys and values RFC 3986-encoded, sorted by key then value. */
    static String canonicalQuery(Map<String, String> query) {
        TreeMap<String, String> sorted = new TreeMap<>();
        query.forEach((k, v) -> sorted.put(encode(k, true), encode(v == null ? "" : v, true)));
        StringBuilder sb = new StringBuilder();
        sorted.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : "&").append(k).append('=').append(v));
        return sb.toString();
    }

    /** An object key as a URI path: each segment RFC 3986-encoded, slashes kept. */
    public static String encodePath(String path) {
        return String.join("/", Arrays.stream(path.split("/", -1)).map(seg -> encode(seg, true)).toList());
    }

    /** RFC 3986 encoding of everything but unreserved characters ({@code A-Z a-z 0-9 - . _ ~}). */
    static String encode(String s, boolean encodeSlash) {
        String e = URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20").replace("*", "%2A")
                .replace("%7E", "~");
        return encodeSlash ? e : e.replace("%2F", "/");
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
        }
    }
}
