package io.salsa.model.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.runtime.io.JsonLines;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Reads SFT data ({@code {"prompt": …, "response": …}} per line) and turns it into token sequences, refusing a
 * bad line with the file and line number rather than training on garbage.
 */
public final class SftData {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SftData() {
    }

    /** Every example of a JSONL file; blank lines are skipped; anything else malformed is an error naming file:line. */
    public static List<SftExample> read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file + " (SFT data: a JSONL file with {\"prompt\": …, \"response\": …} per line)");
        }
        List<SftExample> out = JsonLines.read(file, (n, line) -> parse(file, n, line));
        if (out.isEmpty()) {
            throw new IOException(file + ": no examples (empty file)");
        }
        return out;
    }

    private static SftExample parse(Path file, int line, String text) throws IOException {
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IOException(file + ":" + line + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new IOException(file + ":" + line + ": expected a JSON object with \"prompt\" and \"response\"");
        }
        JsonNode p = node.get("prompt");
        JsonNode rsp = node.get("response");
        if (p == null || !p.isTextual()) {
            throw new IOException(file + ":" + line + ": \"prompt\" must be a string");
        }
        if (rsp == null || !rsp.isTextual()) {
            throw new IOException(file + ":" + line + ": \"response\" must be a string");
        }
        try {
            return new SftExample(p.asText(), rsp.asText());
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ":" + line + ": " + e.getMessage());
        }
    }

    /** Hex SHA-256 of a file's bytes (the data hash on the model card). */
    public static String sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            byte[] buf = new byte[1 << 16];
            while (in.read(buf) >= 0) {
                // reading updates the digest
            }
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available", e);
        }
    }

    /**
     * A tokenised example: {@code ids} = prompt ++ response ++ EOS, cut to {@code maxLen}; {@code promptLength}
     * tokens are context only. Returns null when nothing of the response fits.
     */
    public static Sequence encode(SalsaTokenizer tokenizer, SftExample example, int maxLen) {
        int[] prompt = tokenizer.encode(example.prompt());
        int[] response = tokenizer.encode(example.response());
        int len = Math.min(maxLen, prompt.length + response.length + 1);
        if (prompt.length == 0 || len <= prompt.length) {
            return null;
        }
        int[] ids = new int[len];
        System.arraycopy(prompt, 0, ids, 0, prompt.length);
        int fromResponse = Math.min(response.length, len - prompt.length);
        System.arraycopy(response, 0, ids, prompt.length, fromResponse);
        if (prompt.length + fromResponse < len) {
            ids[len - 1] = tokenizer.eosId();
        }
        return new Sequence(ids, prompt.length);
    }

    /** Encodes every example, dropping (and counting) those whose response does not fit at all. */
    public static List<Sequence> encodeAll(SalsaTokenizer tokenizer, List<SftExample> examples, int maxLen) {
        List<Sequence> out = new ArrayList<>(examples.size());
        for (SftExample e : examples) {
            Sequence s = encode(tokenizer, e, maxLen);
            if (s != null) {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * One training sequence.
     *
     * @param ids          prompt ++ response ++ EOS token ids
     * @param promptLength how many leading ids are prompt (not trained on)
     */
    public record Sequence(int[] ids, int promptLength) {
    }
}
