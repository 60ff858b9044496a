/**
 * {@code salsa report}: a self-contained HTML report with plots from a run folder's {@code metrics.jsonl} and
 * {@code results.json}, whatever wrote them.
 *
 * <p>May not import {@code io.salsa.cli.experiment} or the demo: it depends only on the files' format.
 */
package io.salsa.cli.report;
