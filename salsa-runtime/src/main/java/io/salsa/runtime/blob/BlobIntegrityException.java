package io.salsa.runtime.blob;

import java.io.IOException;

/** A blob whose bytes do not hash to the expected SHA-256: it must never be used. */
public class BlobIntegrityException extends IOException {
    private static final long serialVersionUID = 1L;

    public BlobIntegrityException(String message) {
        super(message);
    }
}
