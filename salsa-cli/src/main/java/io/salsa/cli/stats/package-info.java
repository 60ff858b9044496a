/**
 * Small pure statistics (mean, spread, paired bootstrap, sign test) shared by {@code io.salsa.cli.experiment}
 * and {@code io.salsa.cli.report}; it depends on nothing of the project, so neither of them depends on the other
 * through it.
 */
package io.salsa.cli.stats;
