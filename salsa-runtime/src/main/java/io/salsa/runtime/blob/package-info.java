/**
 * The blob store that model folders travel through (local folder or S3), with SHA-256 verification of
 * everything handed out and deterministic tars, so Kafka records carry only a URI and a digest and every reader can
 * prove it got exactly what the writer published.
 *
 * <p>May not depend on DJL or model code, on Kafka, or on any service.
 */
package io.salsa.runtime.blob;
