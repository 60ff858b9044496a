package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.salsa.broker.EmbeddedKafkaBroker;
import io.salsa.events.PolicyCheckpoint;
import io.salsa.model.lm.CausalLms;
import io.salsa.runtime.blob.BlobStores;
import io.salsa.runtime.blob.ModelFolderStore;
import io.salsa.runtime.kafka.KafkaLog;
import io.salsa.schemas.KafkaSettings;
import io.salsa.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code salsa demo --quick --model llama} end to end on its own embedded broker: a Llama-style base, two SFT seeds,
 * their soup, a reward model, PPO over Kafka and a bit-exact replay, every model folder of the chain a Llama one.
 */
class DemoLlamaQuickTest {

    @Test
    void shouldRunTheWholeChainOnALlamaStyleModel(@TempDir Path dir, @TempDir Path cache) throws Exception {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

        int code = DemoCommand.run(dir, DemoProfile.quick(), "llama", false, out);

        String results = DemoRunAssertions.assertFinishedRun(dir, DemoProfile.quick(), code,
                printed.toString(StandardCharsets.UTF_8));
        assertEquals("llama", DemoRunAssertions.fact(results, "model"), results);
        assertEquals("llama", DemoRunAssertions.fact(results, "pretrain.model_type"), results);
        assertTrue(results.contains("salsa demo (quick, llama)"), results);
        for (String model : List.of("base", "sft-1", "sft-2", "soup-k2", "reward-model/member-1",
                "reward-model/member-2", "policy-final")) {
            assertEquals("llama", CausalLms.modelType(dir.resolve("models").resolve(model)), model);
        }
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(dir.resolve("kafka"), 0, Map.of())) {
            KafkaSettings kafka = KafkaSettings.embedded(broker.bootstrapServers(), "");
            DemoRunAssertions.assertRecordsOnEveryTopic(kafka, DemoProfile.quick());
            // every policy checkpoint the learner published (the soup as v0, then one per step) is a Llama folder
            List<PolicyCheckpoint> checkpoints = KafkaLog.readValues(kafka, Topics.POLICY, Duration.ofSeconds(30),
                    (r, error) -> fail("policy record at offset " + r.offset() + " does not decode: " + error));
            assertTrue(checkpoints.size() >= 1 + DemoProfile.quick().ppoSteps(), checkpoints.toString());
            ModelFolderStore store = new ModelFolderStore(BlobStores.fromUri(dir.resolve("blobs").toUri()
                    .toString()), cache);
            for (PolicyCheckpoint c : checkpoints) {
                Path folder = store.fetchFolder(c.getBlob());
                assertEquals("llama", CausalLms.modelType(folder), "policy v" + c.getVersion());
            }
        }
    }

    @Test
    void shouldRefuseToResumeARunWithAnotherModel(@TempDir Path dir) throws Exception {
        PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        DemoCommand.claimModel(dir, "llama");

        DemoCommand.ModelMismatchException e = assertThrows(DemoCommand.ModelMismatchException.class,
                () -> DemoCommand.run(dir, DemoProfile.quick(), "gpt2", false, out));

        assertTrue(e.getMessage().contains("--model llama") && e.getMessage().contains("--model gpt2"),
                e.getMessage());
        assertFalse(Files.exists(dir.resolve("kafka")), "nothing started");
        assertEquals("llama", Files.readString(dir.resolve("stages").resolve(DemoCommand.MODEL_FILE)).strip());
    }

    @Test
    void shouldTakeARunWithoutARecordForGpt2(@TempDir Path dir) throws Exception {
        // a run from before --model existed: stage markers, no record; it was GPT-2
        new StageMarkers(dir.resolve("stages")).markFinished("pretrain", Map.of("dir", "x"));

        DemoCommand.claimModel(dir, "gpt2");
        DemoCommand.ModelMismatchException e = assertThrows(DemoCommand.ModelMismatchException.class,
                () -> DemoCommand.claimModel(dir, "llama"));

        assertTrue(e.getMessage().contains("--model gpt2"), e.getMessage());
    }

    @Test
    void shouldRefuseAnUnknownModelWithExitCode2(@TempDir Path dir) {
        int code = new picocli.CommandLine(new DemoCommand()).execute("--dir", dir.toString(), "--model", "mistral");

        assertEquals(2, code);
        assertFalse(Files.exists(dir.resolve("stages")), "nothing recorded");
    }
}
