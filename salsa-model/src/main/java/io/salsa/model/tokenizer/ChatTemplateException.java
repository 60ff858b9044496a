package io.salsa.model.tokenizer;

/**
 * A chat template could not be loaded or rendered: a syntax error (naming the file and line), a template that called
 * {@code raise_exception} (carrying its message), or a conversation with a role the template does not take.
 */
public final class ChatTemplateException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    public ChatTemplateException(String message) {
        super(message);
    }

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
