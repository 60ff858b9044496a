package io.salsa.schemas.registry;

import java.util.List;
import org.apache.avro.Schema;

/**
 * Read access to everything a registry that keeps its own schemas holds, so it can be served to tools that speak
 * the Confluent REST API ({@link ConfluentRestView}) without giving them a way to write.
 */
public interface SchemaCatalog {

    /** Every subject with at least one version, sorted. */
    List<String> subjects();

    /** The subject's versions, oldest (version 1) first; empty when the subject is unknown. */
    List<RegisteredSchema> versions(String subject);

    /**
     * The schema with this id.
     *
     * @throws SchemaNotFoundException if no schema has this id
     */
    Schema getById(int id);
}
