package io.salsa.schemas.registry;

/** A registration was refused because the schema cannot read data written with the subject's latest version. */
public final class IncompatibleSchemaException extends SchemaRegistryException {

    private static final long serialVersionUID = 1L;

    public IncompatibleSchemaException(String subject, String details) {
        super("schema is not BACKWARD compatible with the latest version of subject " + subject + ": " + details);
    }
}
