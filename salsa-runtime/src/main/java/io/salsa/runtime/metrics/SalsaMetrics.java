package io.salsa.runtime.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.apache.kafka.clients.admin.AdminClient;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's one metrics registry, so every service exposes its own meters next to the JVM's and its Kafka
 * clients' under the same Prometheus names: base units ({@code _seconds}, {@code _bytes}), counters ending in
 * {@code _total}, label values escaped by the registry.
 *
 * <p>A service registers its meters on {@link #registry()} and hands each Kafka client it creates to
 * {@link #monitor}; the returned handle unregisters the client's meters when closed with the client.
 */
public final class SalsaMetrics {

    private static final Logger LOG = LoggerFactory.getLogger(SalsaMetrics.class);
    private static final PrometheusMeterRegistry REGISTRY = create();

    private SalsaMetrics() {}

    private static PrometheusMeterRegistry create() {
        PrometheusMeterRegistry r = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(r);
        new JvmGcMetrics().bindTo(r);
        new JvmThreadMetrics().bindTo(r);
        new ClassLoaderMetrics().bindTo(r);
        new ProcessorMetrics().bindTo(r);
        new UptimeMetrics().bindTo(r);
        return r;
    }

    /** The registry every service of this process registers on. */
    public static PrometheusMeterRegistry registry() {
        return REGISTRY;
    }

    /** The Prometheus text exposition (format 0.0.4) of everything registered. */
    public static String scrape() {
        return REGISTRY.scrape();
    }

    /** A client's meters on the registry; closing it (with the client) removes them. */
    public interface Binding extends AutoCloseable {
        @Override
        void close();
    }

    /** Binds a producer's client metrics ({@code kafka_producer_*}, tagged with its client id). */
    public static Binding monitor(Producer<?, ?> producer) {
        return bind(new KafkaClientMetrics(producer));
    }

    /** Binds a consumer's client metrics ({@code kafka_consumer_*}: lag, fetch rates, …). */
    public static Binding monitor(Consumer<?, ?> consumer) {
        return bind(new KafkaClientMetrics(consumer));
    }

    /** Binds an admin client's metrics. */
    public static Binding monitor(AdminClient admin) {
        return bind(new KafkaClientMetrics(admin));
    }

    /**
     * Binds any Micrometer binder that holds resources (Kafka Streams' {@code KafkaStreamsMetrics}, which lives where
     * Kafka Streams is on the classpath); closing the handle closes the binder, which removes its meters.
     */
    public static <B extends MeterBinder & AutoCloseable> Binding bind(B binder) {
        binder.bindTo(REGISTRY);
        return () -> {
            try {
                binder.close();
            } catch (Exception e) {
                LOG.debug("closing metrics binder {}: {}", binder.getClass().getSimpleName(), e.toString());
            }
        };
    }

    /**
     * Registers one counter per entry of {@code counters}, each read from {@code source} at scrape time (a service's
     * own counters stay where its hot path keeps them); names are dotted ({@code salsa.generator.rollouts.sent}) and
     * come out as {@code salsa_generator_rollouts_sent_total}. Closing the handle unregisters them.
     */
    public static <T> Binding counters(T source, Iterable<Tag> tags, Map<String, ToDoubleFunction<T>> counters) {
        List<Meter> meters = new ArrayList<>();
        counters.forEach((name, f) -> meters.add(FunctionCounter.builder(name, source, f).tags(tags)
                .register(REGISTRY)));
        return () -> meters.forEach(REGISTRY::remove);
    }

    /** As {@link #counters}, for gauges (values that go up and down). */
    public static <T> Binding gauges(T source, Iterable<Tag> tags, Map<String, ToDoubleFunction<T>> gauges) {
        List<Meter> meters = new ArrayList<>();
        gauges.forEach((name, f) -> meters.add(Gauge.builder(name, source, f).tags(tags).register(REGISTRY)));
        return () -> meters.forEach(REGISTRY::remove);
    }

    /** Removes every meter {@code name} starting with {@code prefix} and carrying the tag {@code key=value}. */
    public static void removeAll(MeterRegistry registry, String prefix, String key, String value) {
        registry.getMeters().stream()
                .filter(m -> m.getId().getName().startsWith(prefix) && value.equals(m.getId().getTag(key)))
                .forEach(registry::remove);
    }
}
