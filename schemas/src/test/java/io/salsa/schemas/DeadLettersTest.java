package io.salsa.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.DeadLetter;
import io.salsa.events.Prompt;
import io.salsa.schemas.registry.InMemorySchemaRegistry;
import io.salsa.schemas.serde.RegistryAvroSerde;
import io.salsa.schemas.serde.SerdeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

class DeadLettersTest {

    @Test
    void shouldKeepTheRawBytesWhereTheyCameFromAndWhy() {
        RegistryAvroSerde<Prompt> serde = new RegistryAvroSerde<>(new InMemorySchemaRegistry(), Prompt.class);
        byte[] junk = "not avro".getBytes(StandardCharsets.UTF_8);
        ConsumerRecord<byte[], byte[]> record = new ConsumerRecord<>("exp.prompts", 2, 41L,
                "p-7".getBytes(StandardCharsets.UTF_8), junk);
        SerdeException error = assertThrows(SerdeException.class, () -> serde.decode(record));

        DeadLetter letter = DeadLetters.of(record, error, "rollout-generator");
        assertEquals("exp.prompts", letter.getSourceTopic());
        assertEquals(2, letter.getPartition());
        assertEquals(41L, letter.getOffset());
        assertEquals(ByteBuffer.wrap(junk), letter.getValue());
        assertEquals(SerdeException.class.getName(), letter.getErrorClass());
        assertTrue(letter.getError().contains("WRONG_MAGIC_BYTE in topic exp.prompts partition 2 offset 41"),
                letter.getError());
        assertEquals("rollout-generator", letter.getService());

        ProducerRecord<String, DeadLetter> out = DeadLetters.toRecord(KafkaSettings.embedded("h:1", "exp."), letter);
        assertEquals("exp.dead-letters", out.topic());
        assertEquals("p-7", out.key());
    }

    @Test
    void shouldDescribeTheCauseChain() {
        Exception e = new IllegalStateException("outer", new java.io.EOFException("inner"));
        assertEquals("IllegalStateException: outer <- EOFException: inner", DeadLetters.describe(e));
        DeadLetter noKey = DeadLetters.of("http", -1, -1, null, null, e, "feedback-ingest", 1L);
        assertEquals(null, DeadLetters.toRecord(KafkaSettings.embedded("h:1", ""), noKey).key());
    }
}
