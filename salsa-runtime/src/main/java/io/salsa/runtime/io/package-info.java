/**
 * File helpers every writer shares (atomic publish of a finished file, recursive delete, line-numbered JSONL),
 * so each is written once.
 *
 * <p>Depends on the JDK only: nothing of ours, no Kafka, no DJL.
 */
package io.salsa.runtime.io;
