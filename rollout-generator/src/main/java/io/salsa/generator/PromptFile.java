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
 * Reads a prompt set from JSONL ({@code {"prompt": …}} or {@code {"id": …, "prompt": …}} per line, or a chat
 * conversation {@code {"messages": [{"role": …, "content": …}, …]}}), so users can bring their own prompts; a bad
 * line is reported with its line number instead of being skipped.
 */
public final class PromptFile {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One prompt of the set; the id is the line's {@code id}, or a hash of the text (and conversation) when absent
     * (stable across loads); {@code messages} is empty for a plain-text prompt.
     */
    public record Entry(String id, String text, String split, Map<String, String> metadata,
                        List<RolloutSampler.Turn> messages) {

        public Entry {
            messages = List.copyOf(messages);
        }

        /** A plain-text prompt. */
        public Entry(String id, String text, String split, Map<String, String> metadata) {
            this(id, text, split, metadata, List.of());
        }
    }

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

    /** The fields a prompt line may have; anything else is outside the prompt schema. */
    public static final List<String> FIELDS = List.of("id", "prompt", "messages", "split", "metadata");

    /**
     * A prompt set and the fields its lines carried outside the prompt schema (name → lines that had it, in order
     * of first appearance); those are not loaded (keep what matters under {@code "metadata"}).
     */
    public record Contents(List<Entry> entries, Map<String, Integer> ignoredFields) {
    }

    /** Parses every non-blank line; the first bad one aborts with its line number. */
    public static List<Entry> read(Path file) throws IOException, BadLineException {
        return read(file, false).entries();
    }

    /**
     * Parses every non-blank line; the first bad one aborts with its line number, and with {@code strict} so does
     * the first field outside {@link #FIELDS}.
     */
    public static Contents read(Path file, boolean strict) throws IOException, BadLineException {
        List<Entry> entries = new ArrayList<>();
        Map<String, Integer> ignored = new LinkedHashMap<>();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node = json(file, number, line);
                for (var it = node.fieldNames(); it.hasNext(); ) {
                    String field = it.next();
                    if (!FIELDS.contains(field)) {
                        if (strict) {
                            throw new BadLineException(file, number, "field \"" + field + "\" is not part of a prompt "
                                    + "(allowed: " + String.join(", ", FIELDS) + "; put extra data under \"metadata\")");
                        }
                        ignored.merge(field, 1, Integer::sum);
                    }
                }
                entries.add(parse(file, number, node));
            }
        }
        if (entries.isEmpty()) {
            throw new BadLineException(file, 0, "no prompts in the file");
        }
        return new Contents(entries, ignored);
    }

    static Entry parse(Path file, int number, String line) throws BadLineException {
        return parse(file, number, json(file, number, line));
    }

    private static JsonNode json(Path file, int number, String line) throws BadLineException {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new BadLineException(file, number, "not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (node == null || !node.isObject()) {
            throw new BadLineException(file, number, "expected a JSON object like {\"prompt\": \"...\"}");
        }
        return node;
    }

    private static Entry parse(Path file, int number, JsonNode node) throws BadLineException {
        List<RolloutSampler.Turn> messages = messages(file, number, node.get("messages"));
        JsonNode prompt = node.get("prompt");
        String text;
        if (prompt == null && !messages.isEmpty()) {
            // the text a policy without a chat template sees, and people read: the last turn
            text = messages.get(messages.size() - 1).content();
        } else if (prompt == null || !prompt.isTextual()) {
            throw new BadLineException(file, number, "missing string field \"prompt\" (or a \"messages\" list)");
        } else {
            text = prompt.asText();
        }
        if (text.isBlank()) {
            throw new BadLineException(file, number, prompt == null ? "the last message is empty" : "\"prompt\" is empty");
        }
        String id;
        JsonNode idNode = node.get("id");
        if (idNode == null || idNode.isNull()) {
            id = "p-" + sha256Hex(messages.isEmpty() ? text : text + "\u0000" + messages).substring(0, 16);
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
        return new Entry(id, text, split, metadata, messages);
    }

    private static List<RolloutSampler.Turn> messages(Path file, int number, JsonNode list) throws BadLineException {
        if (list == null || list.isNull()) {
            return List.of();
        }
        if (!list.isArray() || list.isEmpty()) {
            throw new BadLineException(file, number, "\"messages\" must be a non-empty list of {\"role\", \"content\"}");
        }
        List<RolloutSampler.Turn> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            if (!m.path("role").isTextual() || !m.path("content").isTextual()) {
                throw new BadLineException(file, number, "message " + i
                        + " needs string fields \"role\" and \"content\"");
            }
            out.add(new RolloutSampler.Turn(m.get("role").asText(), m.get("content").asText()));
        }
        return out;
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
