/**
 * The feedback-ingest service: the raters' HTTP API and web page that turn every answer into a
 * {@code Preference} event on the feedback topic, acknowledged by Kafka before the rater is told it is saved.
 *
 * <p>Depends on {@code salsa-runtime} and {@code schemas}; may not depend on DJL or model code, on another
 * service, or (outside tests) on {@code salsa-broker}.
 */
package io.salsa.ingest;
