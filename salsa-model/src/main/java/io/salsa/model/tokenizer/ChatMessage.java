package io.salsa.model.tokenizer;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One turn of a conversation as chat templates read it.
 *
 * @param role    system, user, assistant or tool
 * @param content the turn's text
 */
public record ChatMessage(String role, String content) {

    /** The {@code {"role": ..., "content": ...}} map a template sees. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }
}
