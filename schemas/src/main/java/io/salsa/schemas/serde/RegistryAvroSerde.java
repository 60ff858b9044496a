package io.salsa.schemas.serde;

import io.salsa.schemas.registry.Compatibility;
import io.salsa.schemas.registry.SchemaNotFoundException;
import io.salsa.schemas.registry.SchemaRegistry;
import io.salsa.schemas.registry.SchemaRegistryException;
import java.io.EOFException;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.AvroTypeException;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serde for one generated Avro class in the Confluent wire format, with schemas in a {@link SchemaRegistry}
 * under the TopicNameStrategy ({@code <topic>-value}), so other registry-aware tools can read our topics and old
 * records stay readable as schemas evolve.
 *
 * <p>Writing registers the class's schema on first use per topic (cached). Reading fetches the writer's schema by
 * the record's id (cached) and resolves it into the class's schema. A null value (a tombstone) maps to null both
 * ways; every other failure is a {@link SerdeException}, never a silent null. Thread-safe.
 */
public final class RegistryAvroSerde<V extends SpecificRecord> implements Serde<V> {

    private final SchemaRegistry registry;
    private final Class<V> type;
    private final Schema readerSchema;
    private final SpecificDatumWriter<V> writer;
    private final Map<String, Integer> idByTopic = new ConcurrentHashMap<>();
    private final Map<Integer, SpecificDatumReader<V>> readers = new ConcurrentHashMap<>();
    private final Serializer<V> serializer = new Serializer<>() {
        @Override
        public byte[] serialize(String topic, V data) {
            return RegistryAvroSerde.this.serialize(topic, data);
        }
    };
    private final Deserializer<V> deserializer = new Deserializer<>() {
        @Override
        public V deserialize(String topic, byte[] data) {
            return RegistryAvroSerde.this.deserialize(topic, data);
        }

        @Override
        public V deserialize(String topic, Headers headers, byte[] data) {
            return RegistryAvroSerde.this.deserialize(topic, data);
        }
    };

    public RegistryAvroSerde(SchemaRegistry registry, Class<V> type) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.type = Objects.requireNonNull(type, "type");
        this.readerSchema = SpecificData.getForClass(type).getSchema(type);
        this.writer = new SpecificDatumWriter<>(readerSchema);
    }

    /** The generated class this serde reads and writes. */
    public Class<V> type() {
        return type;
    }

    @Override
    public Serializer<V> serializer() {
        return serializer;
    }

    @Override
    public Deserializer<V> deserializer() {
        return deserializer;
    }

    /** Encodes {@code value} for {@code topic}: magic byte, schema id, Avro body; null stays null. */
    public byte[] serialize(String topic, V value) {
        if (value == null) {
            return null;
        }
        int id = schemaIdFor(topic);
        Scratch scratch = SCRATCH.get();
        scratch.out.reset();
        byte[] header = new byte[WireFormat.HEADER_LENGTH];
        WireFormat.writeHeader(header, id);
        scratch.out.write(header, 0, header.length);
        scratch.encoder = EncoderFactory.get().binaryEncoder(scratch.out, scratch.encoder);
        try {
            writer.write(value, scratch.encoder);
            scratch.encoder.flush();
        } catch (IOException | RuntimeException e) {
            throw new SerdeException(SerdeException.Reason.ENCODING_FAILED, topic,
                    "cannot encode a " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
        return scratch.out.toByteArray();
    }

    /** Per-thread reusable encoder and buffer: encoding allocates only the returned array. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        final Buffer out = new Buffer();
        BinaryEncoder encoder;
    }

    /** A ByteArrayOutputStream without its per-write lock; used by one thread at a time. */
    private static final class Buffer extends java.io.OutputStream {
        private byte[] bytes = new byte[4096];
        private int size;

        void reset() {
            size = 0;
            if (bytes.length > (1 << 20)) {
                bytes = new byte[4096]; // do not pin a huge buffer per thread after one huge record
            }
        }

        @Override
        public void write(int b) {
            ensure(1);
            bytes[size++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            ensure(len);
            System.arraycopy(b, off, bytes, size, len);
            size += len;
        }

        private void ensure(int more) {
            if (size + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
            }
        }

        byte[] toByteArray() {
            return Arrays.copyOf(bytes, size);
        }
    }

    private int schemaIdFor(String topic) {
        Integer id = idByTopic.get(topic);
        if (id != null) {
            return id;
        }
        try {
            id = registry.register(WireFormat.valueSubject(topic), readerSchema);
        } catch (SchemaRegistryException e) {
            throw new SerdeException(SerdeException.Reason.REGISTRY_UNAVAILABLE, topic,
                    "cannot register the schema of " + type.getName() + " under " + WireFormat.valueSubject(topic)
                            + ": " + e.getMessage(), e);
        }
        idByTopic.put(topic, id);
        return id;
    }

    /**
     * Decodes a framed value read from {@code topic}; null (a tombstone) stays null.
     *
     * @throws SerdeException naming the topic and the reason for anything else that is not a valid record
     */
    public V deserialize(String topic, byte[] data) {
        if (data == null) {
            return null;
        }
        if (data.length < WireFormat.HEADER_LENGTH) {
            if (data.length > 0 && data[0] != WireFormat.MAGIC_BYTE) {
                throw wrongMagic(topic, data);
            }
            throw new SerdeException(SerdeException.Reason.TRUNCATED, topic, data.length
                    + " bytes, shorter than the 5-byte header (magic byte + schema id)", null);
        }
        if (data[0] != WireFormat.MAGIC_BYTE) {
            throw wrongMagic(topic, data);
        }
        int id = WireFormat.schemaId(data);
        SpecificDatumReader<V> reader = readerFor(topic, id);
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(data, WireFormat.HEADER_LENGTH,
                data.length - WireFormat.HEADER_LENGTH, null);
        V value;
        try {
            value = reader.read(null, decoder);
        } catch (EOFException e) {
            throw new SerdeException(SerdeException.Reason.TRUNCATED, topic, "the Avro body of schema id " + id
                    + " ended early (" + (data.length - WireFormat.HEADER_LENGTH) + " body bytes)", e);
        } catch (IOException | RuntimeException e) {
            throw new SerdeException(SerdeException.Reason.MALFORMED_BODY, topic, "the body is not valid Avro of "
                    + "schema id " + id + ": " + e, e);
        }
        try {
            if (!decoder.isEnd()) {
                throw new SerdeException(SerdeException.Reason.MALFORMED_BODY, topic, "bytes left over after "
                        + "decoding a " + type.getSimpleName() + " with schema id " + id, null);
            }
        } catch (IOException e) {
            throw new SerdeException(SerdeException.Reason.MALFORMED_BODY, topic, e.toString(), e);
        }
        return value;
    }

    /**
     * Decodes the value of a raw record, naming its topic, partition and offset in any failure: the helper for
     * consumers that read bytes so that they can dead-letter what does not decode.
     */
    public V decode(ConsumerRecord<byte[], byte[]> record) {
        try {
            return deserialize(record.topic(), record.value());
        } catch (SerdeException e) {
            throw e.at(record.partition(), record.offset());
        }
    }

    private SpecificDatumReader<V> readerFor(String topic, int id) {
        SpecificDatumReader<V> reader = readers.get(id);
        if (reader != null) {
            return reader;
        }
        Schema writerSchema;
        try {
            writerSchema = registry.getById(id);
        } catch (SchemaNotFoundException e) {
            throw new SerdeException(SerdeException.Reason.UNKNOWN_SCHEMA_ID, topic, "schema id " + id
                    + " is unknown to the registry: " + e.getMessage(), e);
        } catch (SchemaRegistryException e) {
            throw new SerdeException(SerdeException.Reason.REGISTRY_UNAVAILABLE, topic, "cannot fetch schema id "
                    + id + ": " + e.getMessage(), e);
        }
        try {
            // resolution is checked here once, not on every record
            List<String> problems = Compatibility.problems(readerSchema, writerSchema);
            if (!problems.isEmpty()) {
                throw new AvroTypeException(String.join("; ", problems));
            }
            reader = new SpecificDatumReader<>(writerSchema, readerSchema);
        } catch (AvroRuntimeException e) {
            throw new SerdeException(SerdeException.Reason.INCOMPATIBLE_SCHEMA, topic, "writer schema id " + id
                    + " (" + writerSchema.getFullName() + ") cannot be read as " + type.getName() + ": "
                    + e.getMessage(), e);
        }
        readers.putIfAbsent(id, reader);
        return reader;
    }

    private static SerdeException wrongMagic(String topic, byte[] data) {
        return new SerdeException(SerdeException.Reason.WRONG_MAGIC_BYTE, topic, String.format(
                "first byte is 0x%02x, expected the magic byte 0x00 of the schema-registry wire format", data[0]),
                null);
    }
}
