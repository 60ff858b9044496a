package io.salsa.schemas.registry;

import java.util.Optional;
import org.apache.avro.Schema;

/**
 * The port to a schema registry: the serdes write a schema id into every record and look the writer's schema
 * up by that id, so records stay decodable after the schema evolves. Two adapters:
 * {@link ConfluentRestSchemaRegistry} (a real registry server) and {@link KafkaTopicSchemaRegistry} (embedded,
 * schemas kept in a compacted topic). Compatibility is BACKWARD against the subject's latest version.
 */
public interface SchemaRegistry extends AutoCloseable {

    /**
     * Registers {@code schema} under {@code subject} and returns its global id. Registering a schema already
     * present returns the existing id; the same schema under another subject gets the same id.
     *
     * @throws IncompatibleSchemaException if it cannot read data written with the subject's latest version
     * @throws SchemaRegistryException     if the registry cannot be reached
     */
    int register(String subject, Schema schema);

    /**
     * The schema with this id.
     *
     * @throws SchemaNotFoundException if no schema has this id
     */
    Schema getById(int id);

    /** The subject's newest version, or empty when nothing is registered under it. */
    Optional<RegisteredSchema> latest(String subject);

    /** Whether {@code schema} can read data written with the subject's latest version (true for a new subject). */
    boolean isCompatible(String subject, Schema schema);

    /** Releases connections; the registry cannot be used afterwards. */
    @Override
    void close();
}
