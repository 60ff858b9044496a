package io.salsa.generator;

import io.salsa.events.Prompt;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.TopicAdmin;
import io.salsa.schemas.Topics;
import io.salsa.schemas.serde.RegistryAvroSerde;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes a prompt set to the prompts topic, once per epoch, so the generators can cycle a fixed set of
 * prompts for N passes; returns only after the broker acknowledged every prompt.
 */
public final class PromptPublisher {

    private static final Logger LOG = LoggerFactory.getLogger(PromptPublisher.class);

    private PromptPublisher() {
    }

    /** The event for one prompt of the set in one epoch (key: its id). */
    public static Prompt event(PromptFile.Entry entry, int epoch, long nowMs) {
        return Prompt.newBuilder()
                .setPromptId(entry.id())
                .setText(entry.text())
                .setTokenIds(List.of())
                .setSplit(entry.split())
                .setEpoch(epoch)
                .setMetadata(new java.util.HashMap<>(entry.metadata()))
                .setCreatedAtMs(nowMs)
                .setMessages(entry.messages().isEmpty() ? null : entry.messages().stream()
                        .map(t -> new io.salsa.events.ChatTurn(t.role(), t.content())).toList())
                .build();
    }

    /**
     * Publishes {@code entries} {@code epochs} times (epoch 0, 1, …) in file order.
     *
     * @return the number of prompt events acknowledged
     */
    public static long publish(KafkaSettings settings, List<PromptFile.Entry> entries, int epochs)
            throws ExecutionException, InterruptedException {
        if (epochs < 1) {
            throw new IllegalArgumentException("--epochs must be >= 1, got " + epochs);
        }
        TopicAdmin.ensureTopics(settings, List.of(Topics.PROMPTS));
        String topic = settings.topic(Topics.PROMPTS);
        RegistryAvroSerde<Prompt> serde = settings.valueSerde(Topics.PROMPTS);
        long total = (long) entries.size() * epochs;
        long t0 = System.nanoTime();
        long lastLog = t0;
        long sent = 0;
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(settings.producerProps(),
                new StringSerializer(), new ByteArraySerializer())) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int epoch = 0; epoch < epochs; epoch++) {
                for (PromptFile.Entry entry : entries) {
                    Prompt prompt = event(entry, epoch, System.currentTimeMillis());
                    acks.add(producer.send(new ProducerRecord<>(topic, entry.id(), serde.serialize(topic, prompt))));
                    sent++;
                    long now = System.nanoTime();
                    if (now - lastLog > 5_000_000_000L) {
                        double rate = sent / ((now - t0) / 1e9);
                        LOG.info("published {}/{} prompts ({} /s, ETA {} s)", sent, total, Math.round(rate),
                                Math.round((total - sent) / rate));
                        lastLog = now;
                    }
                }
            }
            producer.flush();
            for (Future<RecordMetadata> ack : acks) {
                ack.get(); // surfaces any failed send
            }
        }
        return sent;
    }
}
