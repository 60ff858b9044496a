/**
 * Reading retained topics as logs rather than as a consumer group (a topic to its end, exact offset ranges, the
 * newest record of a key), with raw values so each caller decodes and dead-letters per record; the one topic reader
 * the services share.
 *
 * <p>Depends on {@code schemas} and kafka-clients only; may not depend on DJL or on any service.
 */
package io.salsa.runtime.kafka;
