package io.salsa.ingest;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.salsa.events.Choice;
import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;

/**
 * Turns a request body into an {@link Answer} or a precise {@link ApiException}: the JSON-schema-level checks
 * (shape, types, allowed fields) and the field-level rules (choice and rating ranges, text limits); a skip's body
 * holds only the task id and follows the same rules. Task-level rules (does the task exist, is it yours) need
 * state and live in {@link TaskBoard}.
 */
public final class AnswerParser {

    static final int MAX_TASK_ID_CHARS = 128;
    private static final Set<String> FIELDS = Set.of("taskId", "choice", "rating", "reason");
    private static final Set<String> SKIP_FIELDS = Set.of("taskId");

    private final ObjectMapper mapper = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private final int maxReasonChars;

    public AnswerParser(int maxReasonChars) {
        this.maxReasonChars = maxReasonChars;
    }

    public Answer parse(byte[] body) {
        JsonNode root = object(body, FIELDS, "taskId, choice, rating, reason");
        String taskId = taskId(root);
        JsonNode choiceNode = present(root, "choice");
        JsonNode ratingNode = present(root, "rating");
        if (choiceNode == null && ratingNode == null) {
            throw new ApiException(400, "missing_field", "either 'choice' (\"A\", \"B\" or \"tie\") or 'rating'"
                    + " (an integer 1-7) is required", "$");
        }
        if (choiceNode != null && ratingNode != null) {
            throw new ApiException(400, "invalid_field", "give either 'choice' or 'rating', not both", "$.rating");
        }
        Choice choice = null;
        Integer rating = null;
        if (choiceNode != null) {
            if (!choiceNode.isTextual()) {
                throw new ApiException(400, "invalid_field", "choice must be a string: \"A\", \"B\" or \"tie\"",
                        "$.choice");
            }
            choice = switch (choiceNode.textValue().toUpperCase(Locale.ROOT)) {
                case "A" -> Choice.A;
                case "B" -> Choice.B;
                case "TIE" -> Choice.TIE;
                default -> throw new ApiException(422, "choice_out_of_range", "choice must be \"A\", \"B\" or"
                        + " \"tie\", got \"" + abbreviate(choiceNode.textValue()) + "\"", "$.choice");
            };
        } else {
            if (!ratingNode.isIntegralNumber()) {
                throw new ApiException(400, "invalid_field", "rating must be an integer from 1 to 7", "$.rating");
            }
            if (!ratingNode.canConvertToInt() || ratingNode.intValue() < 1 || ratingNode.intValue() > 7) {
                throw new ApiException(422, "rating_out_of_range", "rating must be from 1 to 7, got "
                        + abbreviate(ratingNode.asText()), "$.rating");
            }
            rating = ratingNode.intValue();
        }
        String reason = null;
        JsonNode reasonNode = present(root, "reason");
        if (reasonNode != null) {
            if (!reasonNode.isTextual()) {
                throw new ApiException(400, "invalid_field", "reason must be a string", "$.reason");
            }
            reason = reasonNode.textValue();
            int chars = reason.codePointCount(0, reason.length());
            if (chars > maxReasonChars) {
                throw new ApiException(422, "text_too_long", "reason has " + chars + " characters; the limit is "
                        + maxReasonChars, "$.reason");
            }
            if (reason.isBlank()) {
                reason = null;
            }
        }
        return new Answer(taskId, choice, rating, reason);
    }

    /** The task id of a skip request, {@code {"taskId": "..."}}, under the same JSON rules as an answer. */
    public String parseSkip(byte[] body) {
        return taskId(object(body, SKIP_FIELDS, "taskId"));
    }

    /** The body as a JSON object holding only {@code fields}, or the 400 that says what is wrong with it. */
    private JsonNode object(byte[] body, Set<String> fields, String allowed) {
        JsonNode root;
        try {
            root = mapper.readTree(body);
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String where = loc == null ? "$" : "line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            throw new ApiException(400, "malformed_json", "request body is not valid JSON: " + e.getOriginalMessage(),
                    where);
        } catch (IOException e) {
            throw new ApiException(400, "malformed_json", "request body could not be read as JSON", "$");
        }
        if (root == null || root.isMissingNode()) {
            throw new ApiException(400, "malformed_json", "request body is empty; expected a JSON object", "$");
        }
        if (!root.isObject()) {
            throw new ApiException(400, "invalid_field", "request body must be a JSON object, got "
                    + root.getNodeType().name().toLowerCase(Locale.ROOT), "$");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!fields.contains(name)) {
                throw new ApiException(400, "unknown_field", "unknown field '" + name + "'; allowed: " + allowed,
                        "$." + name);
            }
        }
        return root;
    }

    private static String taskId(JsonNode root) {
        String taskId = requiredString(root, "taskId");
        if (taskId.isEmpty() || taskId.length() > MAX_TASK_ID_CHARS) {
            throw new ApiException(400, "invalid_field", "taskId must be 1-" + MAX_TASK_ID_CHARS + " characters",
                    "$.taskId");
        }
        return taskId;
    }

    private static JsonNode present(JsonNode root, String field) {
        JsonNode n = root.get(field);
        return n == null || n.isNull() ? null : n;
    }

    private static String requiredString(JsonNode root, String field) {
        JsonNode n = present(root, field);
        if (n == null) {
            throw new ApiException(400, "missing_field", "'" + field + "' is required", "$." + field);
        }
        if (!n.isTextual()) {
            throw new ApiException(400, "invalid_field", "'" + field + "' must be a string", "$." + field);
        }
        return n.textValue();
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "…";
    }

    /** The mapper the service uses for its own JSON output, configured like the parser. */
    ObjectMapper mapper() {
        return mapper;
    }
}
