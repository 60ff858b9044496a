package io.salsa.runtime.blob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** AWS's published SigV4 vectors: the generic test suite and the S3 developer guide's header-auth examples. */
class SigV4SignerTest {

    // aws-sig-v4-test-suite credentials and time (public test values)
    private final SigV4Signer suite = new SigV4Signer("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "us-east-1", "service");
    private final Instant suiteTime = Instant.parse("2015-08-30T12:36:00Z");

    // S3 developer guide, "Signature Calculations for the Authorization Header" examples
    private final SigV4Signer s3 = new SigV4Signer("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "us-east-1", "s3");
    private final Instant s3Time = Instant.parse("2013-05-24T00:00:00Z");

    @Test
    void shouldMatchTheSuiteGetVanilla() {
        SigV4Signer.Signature s = suite.sign("GET", "/", Map.of(), Map.of("Host", "example.amazonaws.com"),
                SigV4Signer.EMPTY_SHA256, suiteTime);
        assertEquals("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
                s.stringToSign().substring(s.stringToSign().lastIndexOf('\n') + 1));
        assertEquals("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, "
                + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", s.authorization());
        assertEquals("20150830T123600Z", s.headers().get("x-amz-date"));
    }

    @Test
    void shouldMatchTheSuiteQueryOrderAndUtf8Path() {
        Map<String, String> query = new LinkedHashMap<>();
        query.put("Param2", "value2");
        query.put("Param1", "value1");
        assertEquals("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
                suite.sign("GET", "/", query, Map.of("Host", "example.amazonaws.com"), SigV4Signer.EMPTY_SHA256,
                        suiteTime).signature());
        assertEquals("/%E1%88%B4", SigV4Signer.encodePath("/\u1234"));
        assertEquals("8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
                suite.sign("GET", SigV4Signer.encodePath("/\u1234"), Map.of(), Map.of("Host", "example.amazonaws.com"),
                        SigV4Signer.EMPTY_SHA256, suiteTime).signature());
    }

    @Test
    void shouldMatchTheS3GetObjectExample() {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Host", "examplebucket.s3.amazonaws.com");
        headers.put("Range", "bytes=0-9");
        headers.put("x-amz-content-sha256", SigV4Signer.EMPTY_SHA256);
        SigV4Signer.Signature s = s3.sign("GET", "/test.txt", Map.of(), headers, SigV4Signer.EMPTY_SHA256, s3Time);
        assertEquals("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", s.authorization());
    }

    @Test
    void shouldMatchTheS3PutObjectExample() {
        String payload = Sha256.of("Welcome to Amazon S3.".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", payload);
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Host", "examplebucket.s3.amazonaws.com");
        headers.put("Date", "Fri, 24 May 2013 00:00:00 GMT");
        headers.put("x-amz-storage-class", "REDUCED_REDUNDANCY");
        headers.put("x-amz-content-sha256", payload);
        SigV4Signer.Signature s = s3.sign("PUT", SigV4Signer.encodePath("/test$file.text"), Map.of(), headers, payload,
                s3Time);
        assertTrue(s.canonicalRequest().startsWith("PUT\n/test%24file.text\n\n"), s.canonicalRequest());
        assertEquals("9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
                s.stringToSign().substring(s.stringToSign().lastIndexOf('\n') + 1));
        assertEquals("98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd", s.signature());
    }

    @Test
    void shouldMatchTheS3LifecycleAndListObjectsExamples() {
        Map<String, String> headers = Map.of("Host", "examplebucket.s3.amazonaws.com",
                "x-amz-content-sha256", SigV4Signer.EMPTY_SHA256);
        assertEquals("fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
                s3.sign("GET", "/", Map.of("lifecycle", ""), headers, SigV4Signer.EMPTY_SHA256, s3Time).signature());
        assertEquals("34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
                s3.sign("GET", "/", Map.of("prefix", "J", "max-keys", "2"), headers, SigV4Signer.EMPTY_SHA256, s3Time)
                        .signature());
    }
}
