package io.salsa.schemas.registry;

import java.util.List;
import java.util.Optional;
import org.apache.avro.Schema;

/**
 * A registry that lives only in this process: for benchmarks and tools whose records never leave the process.
 * Ids are lost when it closes, so anything written to a topic must use a durable adapter instead.
 */
public final class InMemorySchemaRegistry implements SchemaRegistry, SchemaCatalog {

    private final SchemaStore store = new SchemaStore();

    @Override
    public synchronized int register(String subject, Schema schema) {
        Optional<RegisteredSchema> existing = store.find(subject, schema);
        if (existing.isPresent()) {
            return existing.get().id();
        }
        List<String> problems = store.incompatibilities(subject, schema);
        if (!problems.isEmpty()) {
            throw new IncompatibleSchemaException(subject, String.join("; ", problems));
        }
        RegisteredSchema next = store.next(subject, schema);
        store.apply(next);
        return next.id();
    }

    @Override
    public Schema getById(int id) {
        return store.byId(id).orElseThrow(() -> new SchemaNotFoundException(id, "the in-memory registry"));
    }

    @Override
    public Optional<RegisteredSchema> latest(String subject) {
        return store.latest(subject);
    }

    @Override
    public List<String> subjects() {
        return store.subjects();
    }

    @Override
    public List<RegisteredSchema> versions(String subject) {
        return store.versions(subject);
    }

    @Override
    public boolean isCompatible(String subject, Schema schema) {
        return store.incompatibilities(subject, schema).isEmpty();
    }

    @Override
    public void close() {
        // nothing to release
    }
}
