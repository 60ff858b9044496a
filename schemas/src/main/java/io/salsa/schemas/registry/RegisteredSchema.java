package io.salsa.schemas.registry;

import java.util.Objects;
import org.apache.avro.Schema;

/**
 * One version of a subject in a schema registry.
 *
 * @param subject subject name, e.g. {@code rollouts-value}
 * @param version 1-based version within the subject
 * @param id      global schema id written into records
 * @param schema  the schema
 */
public record RegisteredSchema(String subject, int version, int id, Schema schema) {

    public RegisteredSchema {
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(schema, "schema");
        if (version < 1 || id < 0) {
            throw new IllegalArgumentException("version must be >= 1 and id >= 0, got version " + version
                    + " id " + id + " for subject " + subject);
        }
    }
}
