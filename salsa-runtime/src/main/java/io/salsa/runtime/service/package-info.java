/**
 * The one lifecycle every salsa service has ({@link io.salsa.runtime.service.Service}: run until stopped, stop
 * at a unit-of-work boundary, health, close) and {@link io.salsa.runtime.service.ServiceRunner}, the project's only
 * shutdown hook for commands and the background runner for the demo and tests.
 *
 * <p>Depends on nothing of ours but {@link io.salsa.runtime.metrics.ProbeServer} (the runner serves a service's
 * {@code /metrics}, {@code /healthz} and {@code /readyz} when given a port), so any service, whatever its transport,
 * can implement it.
 */
package io.salsa.runtime.service;
