package io.salsa.schemas;

import io.salsa.events.DeadLetter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Builds {@link DeadLetter} events, so that every service dead-letters a record it cannot process the same way:
 * the raw bytes untouched, where they came from, and why they failed.
 */
public final class DeadLetters {

    /** Longest error text kept; a stack of causes can be long, the record should stay small. */
    static final int MAX_ERROR_CHARS = 4000;

    private DeadLetters() {
    }

    /** A dead letter for a raw record that {@code service} failed on, stamped now. */
    public static DeadLetter of(ConsumerRecord<byte[], byte[]> record, Throwable error, String service) {
        return of(record.topic(), record.partition(), record.offset(), record.key(), record.value(), error, service,
                System.currentTimeMillis());
    }

    /**
     * A dead letter for bytes that may not have come from a topic (e.g. an HTTP body): use partition and offset -1
     * then.
     */
    public static DeadLetter of(String sourceTopic, int partition, long offset, byte[] key, byte[] value,
                                Throwable error, String service, long failedAtMs) {
        return DeadLetter.newBuilder()
                .setSourceTopic(sourceTopic)
                .setPartition(partition)
                .setOffset(offset)
                .setKey(key == null ? null : ByteBuffer.wrap(key.clone()))
                .setValue(value == null ? null : ByteBuffer.wrap(value.clone()))
                .setError(describe(error))
                .setErrorClass(error.getClass().getName())
                .setService(service)
                .setFailedAtMs(failedAtMs)
                .build();
    }

    /** The record to send to the dead-letters topic: keyed by the original key (UTF-8), as DESIGN.md says. */
    public static ProducerRecord<String, DeadLetter> toRecord(KafkaSettings settings, DeadLetter letter) {
        String key = null;
        if (letter.getKey() != null) {
            ByteBuffer k = letter.getKey().duplicate();
            byte[] bytes = new byte[k.remaining()];
            k.get(bytes);
            key = new String(bytes, StandardCharsets.UTF_8);
        }
        return new ProducerRecord<>(settings.topic(Topics.DEAD_LETTERS), key, letter);
    }

    /** The error and its causes in one line, e.g. {@code SerdeException: … <- EOFException: …}. */
    static String describe(Throwable error) {
        StringBuilder s = new StringBuilder();
        int depth = 0;
        for (Throwable t = error; t != null && depth < 5; t = t.getCause(), depth++) {
            if (depth > 0) {
                s.append(" <- ");
            }
            s.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
            if (t.getCause() == t) {
                break;
            }
        }
        return s.length() > MAX_ERROR_CHARS ? s.substring(0, MAX_ERROR_CHARS - 1) + "…" : s.toString();
    }
}
