/**
 * Schema registries behind one port ({@link io.salsa.schemas.registry.SchemaRegistry}): the embedded one kept
 * in a compacted Kafka topic with ids assigned under transactional fencing, a Confluent REST client, and an
 * in-memory one for benchmarks, plus the BACKWARD compatibility rule they all apply; and a read-only view of the
 * registries that keep their own schemas ({@link io.salsa.schemas.registry.SchemaCatalog}) over the Confluent REST
 * API ({@link io.salsa.schemas.registry.ConfluentRestView}).
 *
 * <p>Uses the catalog and settings of {@code io.salsa.schemas} (for its own topic); may not depend on the serde
 * package or on any other module of ours.
 */
package io.salsa.schemas.registry;
