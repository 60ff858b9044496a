package io.salsa.model.safetensors;

import java.io.IOException;

/** A safetensors file that cannot be trusted: the message names the file and, where there is one, the tensor. */
public class SafeTensorsException extends IOException {
    private static final long serialVersionUID = 1L;

    public SafeTensorsException(String message) {
        super(message);
    }

    public SafeTensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
