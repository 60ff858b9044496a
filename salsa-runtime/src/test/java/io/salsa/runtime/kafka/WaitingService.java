package io.salsa.runtime.kafka;

import io.salsa.runtime.service.Health;
import io.salsa.runtime.service.Service;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The smallest service that starts the way the real ones do: {@link BrokerWait} first, then its Kafka work (ensure
 * the dead-letters topic, write one record), then up until stopped.
 */
final class WaitingService implements Service {

    static final String CLOSED = "waiting-service closed cleanly";

    private final KafkaSettings kafka;
    private final BrokerWait wait;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean wrote;

    WaitingService(KafkaSettings kafka) {
        this.kafka = kafka;
        this.wait = new BrokerWait(kafka, name());
    }

    @Override
    public String name() {
        return "waiting-service";
    }

    @Override
    public void run() throws Exception {
        if (!wait.await(() -> stopped.getCount() == 0)) {
            return;
        }
        TopicAdmin.ensureTopics(kafka, List.of(Topics.DEAD_LETTERS));
        try (KafkaProducer<String, String> p = new KafkaProducer<>(kafka.producerProps(), new StringSerializer(),
                new StringSerializer())) {
            p.send(new ProducerRecord<>(kafka.topic(Topics.DEAD_LETTERS), "k", "written after the wait")).get();
        }
        wrote = true;
        stopped.await();
    }

    @Override
    public void stop() {
        stopped.countDown();
    }

    @Override
    public Health health() {
        Health waiting = wait.waiting();
        if (waiting != null) {
            return waiting;
        }
        if (stopped.getCount() == 0) {
            return Health.down("stopped");
        }
        return wrote ? Health.up("wrote its record") : Health.starting("connecting");
    }

    @Override
    public void close() {
        stop();
        System.out.println(CLOSED);
        System.out.flush();
    }

    /** A child JVM for the SIGTERM test: runs the service in the foreground against the address in {@code args[0]}. */
    public static void main(String[] args) throws Exception {
        io.salsa.runtime.service.ServiceRunner.runUntilStopped(
                new WaitingService(KafkaSettings.embedded(args[0], "sigterm.")));
    }
}
