package io.salsa.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.lm.GptModel;
import io.salsa.model.tokenizer.SalsaTokenizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class PretrainCommandTest {

    @TempDir
    Path tmp;

    @Test
    void shouldTrainABaseModelFromScratchAndWriteAModelFolder() throws Exception {
        Path tokDir = TinyFixtures.baseModel(tmp.resolve("tok"));
        Path corpus = tmp.resolve("corpus.txt");
        Files.write(corpus, List.of("the apple is red .", "the sky is blue .", "the snow is white .", "the grass is green ."));
        Path out = tmp.resolve("base");
        int rc = new CommandLine(new PretrainCommand()).execute("--corpus", corpus.toString(),
                "--tokenizer", tokDir.resolve("tokenizer.json").toString(), "--out", out.toString(),
                "--layers", "1", "--heads", "2", "--width", "16", "--positions", "16", "--max-steps", "3", "--batch-size", "2");
        assertEquals(0, rc);
        try (SalsaTokenizer tok = SalsaTokenizer.load(out);
             GptModel m = GptModel.load(out, GptModel.Head.NONE, Device.cpu())) {
            assertEquals(tok.vocabSize(), m.config().vocabSize());
            assertEquals(tok.eosId(), m.config().eosTokenId());
            assertEquals(1, m.config().nLayer());
        }
        JsonNode card = new ObjectMapper().readTree(out.resolve("card.json").toFile());
        assertEquals("pretrain", card.get("kind").asText());
        assertEquals(3, card.get("steps").asInt());
        assertEquals(SftData.sha256(corpus), card.get("corpus_sha256").asText());
    }

    @Test
    void shouldTrainASmallLlamaStyleBaseWithGroupedQueryAttention() throws Exception {
        Path tokDir = TinyFixtures.baseModel(tmp.resolve("tok"));
        Path corpus = tmp.resolve("corpus.txt");
        Files.write(corpus, List.of("the apple is red .", "the sky is blue .", "the snow is white .", "the grass is green ."));
        Path out = tmp.resolve("llama");
        int rc = new CommandLine(new PretrainCommand()).execute("--corpus", corpus.toString(),
                "--tokenizer", tokDir.resolve("tokenizer.json").toString(), "--out", out.toString(), "--arch", "llama",
                "--layers", "1", "--heads", "4", "--width", "16", "--positions", "16", "--max-steps", "3", "--batch-size", "2");
        assertEquals(0, rc);
        try (SalsaTokenizer tok = SalsaTokenizer.load(out);
             io.salsa.model.lm.CausalLm m = io.salsa.model.lm.CausalLms.load(out, GptModel.Head.NONE, Device.cpu())) {
            io.salsa.model.lm.llama.LlamaConfig c = ((io.salsa.model.lm.llama.LlamaModel) m).config();
            assertEquals(tok.vocabSize(), c.vocabSize());
            assertEquals(4, c.numHeads());
            assertEquals(2, c.numKvHeads(), "grouped-query attention by default: half as many kv heads");
            assertEquals(48, c.intermediateSize(), "8/3 of the width, rounded up to a multiple of 16");
            assertEquals(tok.padId(), c.padTokenId());
        }
        JsonNode card = new ObjectMapper().readTree(out.resolve("card.json").toFile());
        assertEquals("llama", card.get("model_type").asText());
    }

    @Test
    void shouldRefuseAnUnknownArchitectureAndGptOnlyFlagsMisused() {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int unknown;
        int kvOnGpt;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            unknown = new CommandLine(new PretrainCommand()).execute("--task", tmp.toString(), "--out",
                    tmp.resolve("x").toString(), "--arch", "mamba");
            kvOnGpt = new CommandLine(new PretrainCommand()).execute("--task", tmp.toString(), "--out",
                    tmp.resolve("x").toString(), "--kv-heads", "2");
        } finally {
            System.setErr(old);
        }
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(2, unknown);
        assertEquals(2, kvOnGpt);
        assertTrue(text.contains("--arch \"mamba\" is not supported (supported: gpt2, llama)"), text);
        assertTrue(text.contains("--kv-heads and --intermediate are for --arch llama"), text);
    }

    @Test
    void shouldExplainMissingInputs() {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            rc = new CommandLine(new PretrainCommand()).execute("--out", tmp.resolve("x").toString());
            assertEquals(2, rc);
            assertTrue(err.toString(StandardCharsets.UTF_8).contains("give --task DIR"), err.toString(StandardCharsets.UTF_8));
            rc = new CommandLine(new PretrainCommand()).execute("--task", tmp.resolve("nowhere").toString(), "--out", tmp.resolve("x").toString());
        } finally {
            System.setErr(old);
        }
        assertEquals(2, rc);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("nowhere/pretrain.txt"), err.toString(StandardCharsets.UTF_8));
    }
}
