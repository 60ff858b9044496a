/**
 * The JUnit 5 extension that hands tests a Kafka broker (an external one, Testcontainers when Docker answers,
 * else the in-process broker), so every Kafka test runs against a real broker without Docker; and
 * {@link io.salsa.testkit.Conditions}, so tests wait on conditions instead of sleeping.
 *
 * <p>For test scope only; depends on {@code salsa-broker} and nothing else of ours.
 */
package io.salsa.testkit;
