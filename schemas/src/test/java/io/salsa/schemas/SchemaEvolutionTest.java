package io.salsa.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.salsa.events.BlobRef;
import io.salsa.events.Rollout;
import io.salsa.events.SftModelKind;
import io.salsa.events.SftModelLanded;
import io.salsa.schemas.registry.Compatibility;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.io.ByteArrayOutputStream;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.Test;

/**
 * The schema-evolution guard: every event schema must read everything written with its last released copy in
 * {@code src/test/resources/released/} (BACKWARD, the registry's rule), so a breaking change fails the build
 * before any record is written with it.
 *
 * <p>Releasing (after a compatible change, e.g. a new field with a default): run this test with
 * {@code -Dsalsa.schemas.release=true}; it checks compatibility first, then rewrites the released copies.
 */
class SchemaEvolutionTest {

    static final String RELEASED = "released/";
    static final Path RELEASED_DIR = Path.of("src/test/resources/released");

    @Test
    void shouldStayBackwardCompatibleWithTheReleasedSchemas() throws IOException {
        boolean releasing = Boolean.getBoolean("salsa.schemas.release");
        List<String> problems = new ArrayList<>();
        for (Topic<?, ?> topic : Topics.all()) {
            Schema current = SpecificData.get().getSchema(topic.valueType());
            Optional<Schema> released = released(current.getName());
            if (released.isEmpty() && !releasing) {
                problems.add(current.getFullName() + " has no released copy " + RELEASED + current.getName()
                        + ".avsc: release it with -Dsalsa.schemas.release=true");
                continue;
            }
            released.ifPresent(r -> problems.addAll(check(current, r)));
        }
        if (!problems.isEmpty()) {
            fail("schema evolution guard:\n  " + String.join("\n  ", problems)
                    + "\nAdd new fields with a default, never change a field's type or remove one without a default.");
        }
        if (releasing) {
            release();
        }
    }

    @Test
    void shouldNameTheSchemaAndTheFieldOfABreakingChange() {
        Schema released = Rollout.getClassSchema();
        // what a careless edit looks like: a new field without a default, and a changed type
        String edited = released.toString()
                .replace("{\"name\":\"seed\",\"type\":\"long\"", "{\"name\":\"seed\",\"type\":\"string\"")
                .replace("\"fields\":[", "\"fields\":[{\"name\":\"criticValue\",\"type\":\"float\"},");
        List<String> problems = check(new Schema.Parser().parse(edited), released);
        assertEquals(2, problems.size(), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.startsWith("io.salsa.events.Rollout")
                && p.contains("READER_FIELD_MISSING_DEFAULT_VALUE") && p.contains("criticValue")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.startsWith("io.salsa.events.Rollout")
                && p.contains("TYPE_MISMATCH") && p.contains("/fields/11")), problems.toString());
    }

    @Test
    void shouldAcceptAnAddedFieldWithADefault() {
        Schema released = Rollout.getClassSchema();
        String edited = released.toString().replace("\"fields\":[",
                "\"fields\":[{\"name\":\"criticValue\",\"type\":\"float\",\"default\":0.0},");
        assertEquals(List.of(), check(new Schema.Parser().parse(edited), released));
    }

    @Test
    void shouldReadSftModelsLandedBeforeTheAdapterFieldsAsFullModels() throws IOException {
        Schema released = released("SftModelLanded").orElseThrow();
        assertEquals(List.of(), check(SftModelLanded.getClassSchema(), released));
        GenericRecord blob = new GenericData.Record(released.getField("blob").schema());
        blob.put("uri", "file:///store/sft/a.tar");
        blob.put("sha256", "ab".repeat(32));
        blob.put("sizeBytes", 42L);
        GenericRecord old = new GenericData.Record(released);
        old.put("modelId", "a");
        old.put("blob", blob);
        old.put("baseModel", "tiny");
        old.put("seed", 1L);
        old.put("dataSha256", "d");
        old.put("dataDescription", "");
        old.put("steps", 3L);
        old.put("evalLoss", null);
        old.put("landedAtMs", 5L);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(bytes, null);
        new GenericDatumWriter<GenericRecord>(released).write(old, enc);
        enc.flush();

        SftModelLanded read = new SpecificDatumReader<SftModelLanded>(released, SftModelLanded.getClassSchema())
                .read(null, DecoderFactory.get().binaryDecoder(bytes.toByteArray(), null));
        assertEquals("a", read.getModelId());
        assertEquals(SftModelKind.FULL, read.getKind(), "a record from before 'kind' is a full model");
        assertEquals(null, read.getBase());
        assertEquals(null, read.getBaseWeightsSha256());
    }

    @Test
    void shouldCarryAnAdaptersBaseThroughTheCurrentSchema() throws IOException {
        BlobRef base = new BlobRef("file:///store/bases/b.tar", "cd".repeat(32), 7L);
        SftModelLanded adapter = SftModelLanded.newBuilder().setModelId("lora-a").setBlob(
                new BlobRef("file:///store/sft/lora-a.tar", "ef".repeat(32), 3L)).setBaseModel("sha256:" + "12".repeat(32))
                .setSeed(1).setDataSha256("d").setLandedAtMs(5L).setKind(SftModelKind.LORA_ADAPTER).setBase(base)
                .setBaseWeightsSha256("12".repeat(32)).build();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(bytes, null);
        new SpecificDatumWriter<>(SftModelLanded.class).write(adapter, enc);
        enc.flush();
        assertEquals(adapter, new SpecificDatumReader<>(SftModelLanded.class)
                .read(null, DecoderFactory.get().binaryDecoder(bytes.toByteArray(), null)));
    }

    /** Problems reading {@code released} data as {@code current}, each prefixed with the schema's name. */
    static List<String> check(Schema current, Schema released) {
        return Compatibility.problems(current, released).stream().map(p -> current.getFullName() + ": " + p + " "
                + fieldAt(current, p)).toList();
    }

    /** Adds the field's name for a location like {@code /fields/3/type}, which is all Avro reports. */
    private static String fieldAt(Schema schema, String problem) {
        int at = problem.indexOf(" at /fields/");
        if (at < 0) {
            return "";
        }
        String rest = problem.substring(at + " at /fields/".length());
        int end = 0;
        while (end < rest.length() && Character.isDigit(rest.charAt(end))) {
            end++;
        }
        int index = Integer.parseInt(rest.substring(0, end));
        return index < schema.getFields().size() ? "(field '" + schema.getFields().get(index).name() + "')" : "";
    }

    private static Optional<Schema> released(String name) throws IOException {
        try (InputStream in = SchemaEvolutionTest.class.getClassLoader().getResourceAsStream(RELEASED + name + ".avsc")) {
            return in == null ? Optional.empty()
                    : Optional.of(new Schema.Parser().parse(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
        }
    }

    private static void release() throws IOException {
        Files.createDirectories(RELEASED_DIR);
        for (Topic<?, ?> topic : Topics.all()) {
            Schema current = SpecificData.get().getSchema(topic.valueType());
            Files.writeString(RELEASED_DIR.resolve(current.getName() + ".avsc"), current.toString(true) + "\n");
        }
    }
}
