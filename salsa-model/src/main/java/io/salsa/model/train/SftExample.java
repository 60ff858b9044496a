package io.salsa.model.train;

/**
 * One supervised fine-tuning pair: the model learns to continue {@code prompt} with {@code response}.
 *
 * @param prompt   text the model is given (not trained on)
 * @param response text the model learns to produce, followed by EOS
 */
public record SftExample(String prompt, String response) {

    public SftExample {
        if (prompt == null || prompt.isEmpty()) {
            throw new IllegalArgumentException("\"prompt\" must be a non-empty string");
        }
        if (response == null || response.isEmpty()) {
            throw new IllegalArgumentException("\"response\" must be a non-empty string");
        }
    }
}
