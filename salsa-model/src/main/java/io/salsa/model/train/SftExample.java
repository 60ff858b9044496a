package io.salsa.model.train;

import io.salsa.model.tokenizer.ChatMessage;
import java.util.List;

/**
 * One supervised fine-tuning example: the model learns to continue {@code prompt} with {@code response}, or, for a
 * chat conversation, to produce its assistant turns (rendered with the model's chat template).
 *
 * @param prompt   text the model is given (not trained on); for a conversation, its last turn (for people)
 * @param response text the model learns to produce, followed by EOS; for a conversation, its last assistant turn
 * @param messages the conversation, empty for a prompt/response pair
 */
public record SftExample(String prompt, String response, List<ChatMessage> messages) {

    public SftExample {
        messages = List.copyOf(messages);
        if (messages.isEmpty()) {
            if (prompt == null || prompt.isEmpty()) {
                throw new IllegalArgumentException("\"prompt\" must be a non-empty string");
            }
            if (response == null || response.isEmpty()) {
                throw new IllegalArgumentException("\"response\" must be a non-empty string");
            }
        } else if (messages.stream().noneMatch(m -> "assistant".equals(m.role()))) {
            throw new IllegalArgumentException("\"messages\" has no assistant turn to learn");
        }
    }

    /** A prompt/response pair. */
    public SftExample(String prompt, String response) {
        this(prompt, response, List.of());
    }

    /** A conversation; the model learns its assistant turns. */
    public static SftExample conversation(List<ChatMessage> messages) {
        String last = messages.isEmpty() ? "" : messages.get(messages.size() - 1).content();
        String lastAssistant = messages.stream().filter(m -> "assistant".equals(m.role())).reduce((a, b) -> b)
                .map(ChatMessage::content).orElse("");
        return new SftExample(last, lastAssistant, messages);
    }
}
