/**
 * Metrics and health of every service, in one place: {@link io.salsa.runtime.metrics.SalsaMetrics}, the process's
 * Micrometer registry (JVM metrics bound once, Kafka client and Streams metrics bound by the services on the clients
 * they create), and {@link io.salsa.runtime.metrics.ProbeServer}, the small HTTP endpoint serving {@code /metrics}
 * (Prometheus text), {@code /healthz} and {@code /readyz} from a service's {@link io.salsa.runtime.service.Health},
 * which {@link io.salsa.runtime.service.ServiceRunner} starts when a metrics port is set.
 */
package io.salsa.runtime.metrics;
