package io.salsa.generator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a prompt set from JSONL ({@code {"prompt": …}} or {@code {"id": …, "prompt": …}} per line), so users can
 * bring their own prompts; a bad line is reported with its line number instead of being skipped.
 */
public final class PromptFile {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One prompt of the set; the id is the line's {@code id}, or a hash of the text when absent (stable across loads). */
    public record Entry(String id, String text, String split, Map<String, String> metadata) { }

    /** A line that is not a valid prompt, with its 1-based line number. */
    public static final class BadLineException extends Exception {
        private final int line;

        BadLineException(Path file, int line, String problem) {
            super(file + " line " + line + ": " + problem);
            this.line = line;
        }

        public int line() {
            return line;
        }
    }

    private PromptFile() {
    }

    /** Parses every non-blank line; the first bad one aborts with its line number. */
    public static List<Entry> read(Path file) throws IOException, BadLineException {
        List<Entry> entries = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                entries.add(parse(file, number, line));
            }
        }
        if (entries.isEmpty()) {
            throw new BadLineException(file, 0, "no prompts in the file");
        }
        return entries;
    }

    static Entry parse(Path file, int number, String line) throws BadLineException {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new BadLineException(file, number, "not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (node == null || !node.isObject()) {
            throw new BadLineException(file, number, "expected a JSON object like {\"prompt\": \"...\"}");
        }
        JsonNode prompt = node.get("prompt");
        if (prompt == null || !prompt.isTextual()) {
            throw new BadLineException(file, number, "missing string field \"prompt\"");
        }
        if (prompt.asText().isBlank()) {
            throw new BadLineException(file, number, "\"prompt\" is empty");
        }
        String id;
        JsonNode idNode = node.get("id");
        if (idNode == null || idNode.isNull()) {
            id = "p-" + sha256Hex(prompt.asText()).substring(0, 16);
        } else if (idNode.isTextual() || idNode.isIntegralNumber()) {
            id = idNode.asText();
            if (id.isBlank()) {
                throw new BadLineException(file, number, "\"id\" is empty");
            }
        } else {
            throw new BadLineException(file, number, "\"id\" must be a string or an integer");
        }
        JsonNode splitNode = node.get("split");
        String split = splitNode != null && splitNode.isTextual() ? splitNode.asText() : null;
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode meta = node.get("metadata");
        if (meta != null && meta.isObject()) {
            meta.fields().forEachRemaining(f -> metadata.put(f.getKey(), f.getValue().asText()));
        }
        return new Entry(id, prompt.asText(), split, metadata);
    }

    private static String sha256Hex(String text) {
        try {
            return HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
