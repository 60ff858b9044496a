/**
 * {@code salsa soak}: the Kafka loop as separate OS processes of the real {@code salsa} subcommands for a given
 * time, sampled for memory, open files, disk and throughput, optionally killed and restarted one by one (chaos)
 * and checked from the topics at the end.
 */
package io.salsa.cli.soak;
