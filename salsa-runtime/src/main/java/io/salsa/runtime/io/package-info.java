/**
 * File helpers every writer shares (atomic publish of a finished file or folder, recursive delete, scratch folders
 * that remove themselves, line-numbered JSONL), so each is written once.
 *
 * <p>Depends on the JDK (and SLF4J for warnings) only: nothing of ours, no Kafka, no DJL.
 */
package io.salsa.runtime.io;
