package io.salsa.schemas.registry;

/** A schema registry could not do what was asked (unreachable, refused, or answered nonsense). */
public class SchemaRegistryException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public SchemaRegistryException(String message) {
        super(message);
    }

    public SchemaRegistryException(String message, Throwable cause) {
        super(message, cause);
    }
}
