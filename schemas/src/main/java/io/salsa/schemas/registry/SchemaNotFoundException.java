package io.salsa.schemas.registry;

/** No schema has the id a record carries: the record cannot be decoded with this registry. */
public final class SchemaNotFoundException extends SchemaRegistryException {

    private static final long serialVersionUID = 1L;
    private final int id;

    public SchemaNotFoundException(int id, String registry) {
        super("schema id " + id + " is not registered in " + registry);
        this.id = id;
    }

    public int id() {
        return id;
    }
}
