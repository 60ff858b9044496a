/**
 * A real single-node KRaft Kafka broker in-process, for the embedded default and tests: the only code of the
 * project that touches Kafka's server internals, so a Kafka upgrade changes one class.
 *
 * <p>Depends on nothing of ours. Outside tests (and the test kit) only the benchmarks ({@code salsa-bench}) and
 * the launcher ({@code salsa-cli}) may use it; services never do.
 */
package io.salsa.broker;
