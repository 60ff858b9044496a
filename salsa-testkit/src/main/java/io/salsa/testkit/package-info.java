/**
 * The JUnit 5 extension that hands tests a Kafka broker (an external one, Testcontainers when Docker answers,
 * else the in-process broker), so every Kafka test runs against a real broker without Docker;
 * {@link io.salsa.testkit.S3ProxyFixture}, a real S3 API server in-process (S3Proxy) that stands in for MinIO; and
 * {@link io.salsa.testkit.Conditions}, so tests wait on conditions instead of sleeping; and
 * {@link io.salsa.testkit.LateKafka}, a broker address whose broker starts when the test says, for services started
 * before their broker.
 *
 * <p>For test scope only; depends on {@code salsa-broker} and nothing else of ours.
 */
package io.salsa.testkit;
