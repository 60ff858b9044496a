/**
 * {@code salsa demo}: the whole SALSA chain on the embedded default in one process, each service the production
 * class configured as its command would configure it, resumable stage by stage, ending with a replay and a report.
 *
 * <p>May not reimplement a service's logic: it only wires services and library calls together.
 */
package io.salsa.cli.demo;
