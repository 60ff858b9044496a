package io.salsa.generator;

import io.salsa.events.ChatTurn;
import io.salsa.events.Prompt;
import java.util.List;
import java.util.function.Function;

/**
 * Turns a prompt event into the token ids the model is fed, or says why it cannot be used, so an unusable
 * prompt goes to the dead-letter topic with a reason instead of stopping the generator.
 */
public final class PromptCheck {

    /** The outcome: token ids, or a reason code and a human message. */
    public sealed interface Result permits Ok, Invalid { }

    /** The prompt is usable with these ids. */
    public record Ok(int[] ids) implements Result { }

    /** The prompt is unusable. */
    public record Invalid(String code, String message) implements Result { }

    private PromptCheck() {
    }

    /** {@link #check(Prompt, int, int, int, Function, Function)} for a policy without a chat template. */
    public static Result check(Prompt prompt, int maxNewTokens, int maxPositions, int vocabSize,
                               Function<String, int[]> encoder) {
        return check(prompt, maxNewTokens, maxPositions, vocabSize, encoder, conversation -> null);
    }

    /**
     * Uses the event's token ids when present; otherwise, when the prompt carries messages and the policy has a chat
     * template, the rendered conversation's ids; otherwise encodes its text. A prompt is refused when it is
     * empty, when it has only text and there is no tokenizer, when an id is outside the vocabulary, or when
     * the prompt plus {@code maxNewTokens} does not fit the model's positions (a response must be able to reach
     * its full length, otherwise its truncation would depend on the prompt's length).
     *
     * @param encoder     text to ids, returning null when no tokenizer is available
     * @param chatEncoder a conversation to ids through the chat template, returning null when there is none and
     *                    throwing {@link IllegalArgumentException} when the template refuses the conversation
     */
    public static Result check(Prompt prompt, int maxNewTokens, int maxPositions, int vocabSize,
                               Function<String, int[]> encoder,
                               Function<List<RolloutSampler.Turn>, int[]> chatEncoder) {
        if (prompt.getPromptId() == null || prompt.getPromptId().isBlank()) {
            return new Invalid("empty-prompt-id", "the prompt has no promptId");
        }
        int[] ids;
        List<Integer> given = prompt.getTokenIds();
        List<ChatTurn> messages = prompt.getMessages();
        int[] chat = null;
        if ((given == null || given.isEmpty()) && messages != null && !messages.isEmpty()) {
            List<RolloutSampler.Turn> conversation = messages.stream()
                    .map(m -> new RolloutSampler.Turn(m.getRole(), m.getContent())).toList();
            try {
                chat = chatEncoder.apply(conversation);
            } catch (IllegalArgumentException e) {
                return new Invalid("chat-template", "prompt " + prompt.getPromptId() + ": " + e.getMessage());
            }
            if (chat != null && chat.length == 0) {
                return new Invalid("empty-prompt", "prompt " + prompt.getPromptId() + " renders to no tokens");
            }
        }
        if (given != null && !given.isEmpty()) {
            ids = given.stream().mapToInt(Integer::intValue).toArray();
        } else if (chat != null) {
            ids = chat;
        } else {
            String text = prompt.getText();
            if (text == null || text.isBlank()) {
                return new Invalid("empty-prompt", "prompt " + prompt.getPromptId() + " has neither text nor token ids");
            }
            ids = encoder.apply(text);
            if (ids == null) {
                return new Invalid("no-tokenizer", "prompt " + prompt.getPromptId()
                        + " has only text, and the model folder has no tokenizer.json to encode it");
            }
            if (ids.length == 0) {
                return new Invalid("empty-prompt", "prompt " + prompt.getPromptId() + " encodes to no tokens");
            }
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                return new Invalid("token-out-of-vocabulary", "prompt " + prompt.getPromptId() + " token " + i
                        + " has id " + ids[i] + ", outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        if (ids.length + maxNewTokens > maxPositions) {
            return new Invalid("prompt-too-long", "prompt " + prompt.getPromptId() + " has " + ids.length
                    + " tokens; with max_new_tokens " + maxNewTokens + " it exceeds the model's "
                    + maxPositions + " positions");
        }
        return new Ok(ids);
    }
}
