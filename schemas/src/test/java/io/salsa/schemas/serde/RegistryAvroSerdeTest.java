package io.salsa.schemas.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.salsa.schemas.registry.InMemorySchemaRegistry;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

class RegistryAvroSerdeTest {

    private final InMemorySchemaRegistry registry = new InMemorySchemaRegistry();
    private final RegistryAvroSerde<Prompt> serde = new RegistryAvroSerde<>(registry, Prompt.class);

    private static Prompt prompt() {
        return Prompt.newBuilder().setPromptId("p-1").setText("hi").setCreatedAtMs(5L).build();
    }

    @Test
    void shouldWriteTheConfluentWireFormatUnderTheTopicNameStrategy() {
        byte[] bytes = serde.serialize("t1", prompt());
        int id = registry.latest("t1-value").orElseThrow().id();
        assertEquals(0, bytes[0]);
        assertArrayEquals(new byte[] {(byte) (id >>> 24), (byte) (id >>> 16), (byte) (id >>> 8), (byte) id},
                Arrays.copyOfRange(bytes, 1, 5));
        assertEquals(prompt(), serde.deserialize("t1", bytes));
        assertEquals(prompt(), serde.deserializer().deserialize("t1", bytes));
        assertArrayEquals(bytes, serde.serializer().serialize("t1", prompt()));
    }

    @Test
    void shouldMapTombstonesToNull() {
        assertNull(serde.serialize("t1", null));
        assertNull(serde.deserialize("t1", null));
    }

    @Test
    void shouldRefuseAWrongMagicByte() {
        byte[] bytes = serde.serialize("t1", prompt());
        bytes[0] = 7;
        SerdeException e = assertThrows(SerdeException.class, () -> serde.deserialize("t1", bytes));
        assertEquals(SerdeException.Reason.WRONG_MAGIC_BYTE, e.reason());
        assertTrue(e.getMessage().contains("topic t1") && e.getMessage().contains("0x07"), e.getMessage());
        // plain text is the usual culprit: a producer that did not use the registry serde
        SerdeException text = assertThrows(SerdeException.class, () -> serde.deserialize("t1", "{\"a\":1}".getBytes()));
        assertEquals(SerdeException.Reason.WRONG_MAGIC_BYTE, text.reason());
    }

    @Test
    void shouldRefuseAnUnknownSchemaId() {
        byte[] bytes = serde.serialize("t1", prompt());
        bytes[4] = 99;
        SerdeException e = assertThrows(SerdeException.class, () -> serde.deserialize("t1", bytes));
        assertEquals(SerdeException.Reason.UNKNOWN_SCHEMA_ID, e.reason());
        assertTrue(e.getMessage().contains("schema id 99"), e.getMessage());
        assertTrue(e.reason().poison());
    }

    @Test
    void shouldRefuseTruncatedHeadersAndBodies() {
        byte[] bytes = serde.serialize("t1", prompt());
        SerdeException header = assertThrows(SerdeException.class,
                () -> serde.deserialize("t1", Arrays.copyOf(bytes, 3)));
        assertEquals(SerdeException.Reason.TRUNCATED, header.reason());
        SerdeException empty = assertThrows(SerdeException.class, () -> serde.deserialize("t1", new byte[0]));
        assertEquals(SerdeException.Reason.TRUNCATED, empty.reason());
        SerdeException body = assertThrows(SerdeException.class,
                () -> serde.deserialize("t1", Arrays.copyOf(bytes, bytes.length - 3)));
        assertEquals(SerdeException.Reason.TRUNCATED, body.reason());
    }

    @Test
    void shouldRefuseTrailingGarbage() {
        byte[] bytes = serde.serialize("t1", prompt());
        byte[] longer = Arrays.copyOf(bytes, bytes.length + 2);
        SerdeException e = assertThrows(SerdeException.class, () -> serde.deserialize("t1", longer));
        assertEquals(SerdeException.Reason.MALFORMED_BODY, e.reason());
    }

    @Test
    void shouldNameTopicPartitionAndOffsetOfARawRecord() {
        byte[] bytes = serde.serialize("t1", prompt());
        bytes[0] = 1;
        ConsumerRecord<byte[], byte[]> record = new ConsumerRecord<>("t1", 3, 1234L, "p-1".getBytes(), bytes);
        SerdeException e = assertThrows(SerdeException.class, () -> serde.decode(record));
        assertEquals(3, e.partition());
        assertEquals(1234L, e.offset());
        assertTrue(e.getMessage().startsWith("WRONG_MAGIC_BYTE in topic t1 partition 3 offset 1234: "),
                e.getMessage());
        assertEquals(prompt(), serde.decode(new ConsumerRecord<>("t1", 0, 1L, null, serde.serialize("t1", prompt()))));
    }

    @Test
    void shouldReadRecordsWrittenWithAnOlderSchema() throws Exception {
        // the Prompt schema as it might have been before split, epoch, tokenIds and metadata were added
        Schema old = new Schema.Parser().parse("""
                {"type":"record","name":"Prompt","namespace":"io.salsa.events","fields":[
                  {"name":"promptId","type":"string"},{"name":"text","type":"string"},
                  {"name":"createdAtMs","type":"long"}]}""");
        int oldId = registry.register("t2-value", old);
        GenericRecord r = new GenericData.Record(old);
        r.put("promptId", "p-9");
        r.put("text", "old text");
        r.put("createdAtMs", 77L);
        byte[] framed = frame(oldId, old, r);

        Prompt read = serde.deserialize("t2", framed);
        assertEquals("p-9", read.getPromptId());
        assertEquals(List.of(), read.getTokenIds());
        assertEquals(0, read.getEpoch());
        assertNull(read.getSplit());
    }

    @Test
    void shouldRefuseAWriterSchemaItCannotResolve() throws Exception {
        Schema alien = new Schema.Parser().parse("""
                {"type":"record","name":"Prompt","namespace":"io.salsa.events","fields":[
                  {"name":"promptId","type":"int"}]}""");
        int id = registry.register("alien-value", alien);
        GenericRecord r = new GenericData.Record(alien);
        r.put("promptId", 1);
        SerdeException e = assertThrows(SerdeException.class, () -> serde.deserialize("t3", frame(id, alien, r)));
        assertEquals(SerdeException.Reason.INCOMPATIBLE_SCHEMA, e.reason());
        assertTrue(e.getMessage().contains("promptId") || e.getMessage().contains("text"), e.getMessage());
    }

    @Test
    void shouldRoundTripALongRollout() {
        RegistryAvroSerde<Rollout> rollouts = new RegistryAvroSerde<>(registry, Rollout.class);
        Rollout r = io.salsa.schemas.SampleEvents.rollout(256);
        assertEquals(r, rollouts.deserialize("rollouts", rollouts.serialize("rollouts", r)));
    }

    static byte[] frame(int id, Schema schema, GenericRecord record) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {0, (byte) (id >>> 24), (byte) (id >>> 16), (byte) (id >>> 8), (byte) id});
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(record, enc);
        enc.flush();
        return out.toByteArray();
    }
}
