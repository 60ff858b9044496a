/**
 * The value serde in the Confluent wire format (magic byte, schema id, Avro binary) and its typed errors, so
 * an undecodable record is always a {@link io.salsa.schemas.serde.SerdeException} with a reason (dead-letter it
 * or retry), never a silent null.
 *
 * <p>Depends only on the registry port; may not name topics (callers pass them) or depend on any module of ours.
 */
package io.salsa.schemas.serde;
