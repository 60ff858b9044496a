/**
 * The one lifecycle every salsa service has ({@link io.salsa.runtime.service.Service}: run until stopped, stop
 * at a unit-of-work boundary, health, close) and {@link io.salsa.runtime.service.ServiceRunner}, the project's only
 * shutdown hook for commands and the background runner for the demo and tests.
 *
 * <p>Depends on nothing of ours (not even Kafka), so any service, whatever its transport, can implement it.
 */
package io.salsa.runtime.service;
