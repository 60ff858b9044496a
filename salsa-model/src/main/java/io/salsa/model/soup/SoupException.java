package io.salsa.model.soup;

import java.io.IOException;

/** Members that cannot be averaged (different architectures, tensors or shapes) or a bad soup request; the message names the first problem. */
public class SoupException extends IOException {
    private static final long serialVersionUID = 1L;

    public SoupException(String message) {
        super(message);
    }

    public SoupException(String message, Throwable cause) {
        super(message, cause);
    }
}
