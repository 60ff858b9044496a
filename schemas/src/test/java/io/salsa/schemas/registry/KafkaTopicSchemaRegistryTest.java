package io.salsa.schemas.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.events.Prompt;
import io.salsa.events.Rollout;
import io.salsa.schemas.KafkaSettings;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(KafkaExtension.class)
class KafkaTopicSchemaRegistryTest {

    private static KafkaSettings settings(TestKafka kafka) {
        return KafkaSettings.embedded(kafka.bootstrapServers(), "reg-" + UUID.randomUUID() + ".");
    }

    @Test
    void shouldKeepIdsAcrossReopening(TestKafka kafka) {
        KafkaSettings s = settings(kafka);
        int prompt;
        int rollout;
        try (KafkaTopicSchemaRegistry r = KafkaTopicSchemaRegistry.open(s)) {
            prompt = r.register("prompts-value", Prompt.getClassSchema());
            rollout = r.register("rollouts-value", Rollout.getClassSchema());
            assertEquals(prompt, r.register("prompts-value", Prompt.getClassSchema()), "registering twice");
            assertEquals(prompt, r.register("other-value", Prompt.getClassSchema()), "same schema, other subject");
            assertTrue(prompt != rollout);
        }
        try (KafkaTopicSchemaRegistry r = KafkaTopicSchemaRegistry.open(s)) {
            assertEquals(Prompt.getClassSchema(), r.getById(prompt));
            assertEquals(Rollout.getClassSchema(), r.getById(rollout));
            RegisteredSchema latest = r.latest("prompts-value").orElseThrow();
            assertEquals(1, latest.version());
            assertEquals(prompt, latest.id());
            assertEquals(prompt, r.register("prompts-value", Prompt.getClassSchema()));
        }
    }

    @Test
    void shouldSeeSchemasRegisteredByAnotherInstance(TestKafka kafka) {
        KafkaSettings s = settings(kafka);
        try (KafkaTopicSchemaRegistry a = KafkaTopicSchemaRegistry.open(s);
             KafkaTopicSchemaRegistry b = KafkaTopicSchemaRegistry.open(s)) {
            int id = a.register("x-value", Prompt.getClassSchema());
            assertEquals(Prompt.getClassSchema(), b.getById(id), "b reads the topic again on a miss");
            assertThrows(SchemaNotFoundException.class, () -> b.getById(id + 1000));
        }
    }

    @Test
    void shouldRefuseABackwardIncompatibleVersion(TestKafka kafka) {
        Schema v1 = SchemaBuilder.record("Thing").namespace("t").fields().requiredString("a").endRecord();
        Schema v2 = SchemaBuilder.record("Thing").namespace("t").fields().requiredString("a")
                .name("b").type().intType().intDefault(0).endRecord();
        Schema v3 = SchemaBuilder.record("Thing").namespace("t").fields().requiredString("a")
                .requiredInt("c").endRecord();
        try (KafkaTopicSchemaRegistry r = KafkaTopicSchemaRegistry.open(settings(kafka))) {
            int id1 = r.register("thing-value", v1);
            assertTrue(r.isCompatible("thing-value", v2));
            int id2 = r.register("thing-value", v2);
            assertTrue(id2 > id1);
            assertEquals(2, r.latest("thing-value").orElseThrow().version());
            assertFalse(r.isCompatible("thing-value", v3));
            IncompatibleSchemaException e = assertThrows(IncompatibleSchemaException.class,
                    () -> r.register("thing-value", v3));
            assertTrue(e.getMessage().contains("READER_FIELD_MISSING_DEFAULT_VALUE") && e.getMessage().contains("c"),
                    e.getMessage());
            assertTrue(r.isCompatible("new-subject", v3), "nothing to be compatible with yet");
        }
    }

    @Test
    void shouldNeverGiveOneIdToTwoSchemasUnderConcurrentRegistrants(TestKafka kafka) throws Exception {
        KafkaSettings s = settings(kafka);
        int registrants = 3;
        int schemasEach = 3;
        List<KafkaTopicSchemaRegistry> registries = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(registrants);
        try {
            for (int i = 0; i < registrants; i++) {
                registries.add(KafkaTopicSchemaRegistry.open(s));
            }
            List<Future<Map<Integer, Schema>>> futures = new ArrayList<>();
            for (int i = 0; i < registrants; i++) {
                KafkaTopicSchemaRegistry r = registries.get(i);
                int who = i;
                Callable<Map<Integer, Schema>> task = () -> {
                    Map<Integer, Schema> mine = new HashMap<>();
                    for (int k = 0; k < schemasEach; k++) {
                        Schema schema = SchemaBuilder.record("R" + who + "x" + k).namespace("c").fields()
                                .requiredLong("f").endRecord();
                        mine.put(r.register("s" + who + "-" + k, schema), schema);
                    }
                    return mine;
                };
                futures.add(pool.submit(task));
            }
            Map<Integer, Schema> all = new HashMap<>();
            for (Future<Map<Integer, Schema>> f : futures) {
                for (Map.Entry<Integer, Schema> e : f.get().entrySet()) {
                    Schema before = all.put(e.getKey(), e.getValue());
                    assertTrue(before == null, "id " + e.getKey() + " given to " + before + " and " + e.getValue());
                }
            }
            assertEquals(registrants * schemasEach, all.size());
            try (KafkaTopicSchemaRegistry fresh = KafkaTopicSchemaRegistry.open(s)) {
                Set<Integer> seen = new HashSet<>();
                for (Map.Entry<Integer, Schema> e : all.entrySet()) {
                    assertEquals(e.getValue(), fresh.getById(e.getKey()), "a fresh reader folds the same state");
                    seen.add(e.getKey());
                }
                assertEquals(all.keySet(), seen);
            }
        } finally {
            pool.shutdownNow();
            registries.forEach(KafkaTopicSchemaRegistry::close);
        }
    }
}
