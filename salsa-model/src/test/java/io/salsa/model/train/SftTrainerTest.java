package io.salsa.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.lm.GptModel;
import io.salsa.model.tokenizer.SalsaTokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class SftTrainerTest {

    @TempDir
    Path tmp;

    private SftRun.Request request(Path data, Path base, String out, long seed) {
        return new SftRun.Request(data, null, base, null, tmp.resolve(out),
                new SftConfig(2, 5e-3, 4, 2, 8, 1.0, 0.01, seed), Device.cpu());
    }

    @Test
    void shouldProduceBitIdenticalWeightsForTheSameSeedAndLowerTheLoss() throws Exception {
        Path base = TinyFixtures.baseModel(tmp.resolve("base"));
        Path data = tmp.resolve("data.jsonl");
        Files.write(data, TinyFixtures.jsonl(24));
        List<String> log = new ArrayList<>();
        SftTrainer.Result a = SftRun.run(request(data, base, "a", 7), log::add);
        SftTrainer.Result b = SftRun.run(request(data, base, "b", 7), s -> { });
        SftRun.run(request(data, base, "c", 8), s -> { });
        assertEquals(8, a.steps());
        assertArrayEquals(Files.readAllBytes(tmp.resolve("a/model.safetensors")), Files.readAllBytes(tmp.resolve("b/model.safetensors")),
                "same seed, data and base → identical weights");
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(tmp.resolve("a/model.safetensors")),
                Files.readAllBytes(tmp.resolve("c/model.safetensors"))), "another seed → another data order → other weights");
        assertEquals(a.finalEvalLoss(), b.finalEvalLoss());
        assertTrue(log.stream().anyMatch(l -> l.contains("tok/s") && l.contains("ETA") && l.contains("loss")), "progress line: " + log);

        // the fine-tuned model explains the responses better than the base
        try (SalsaTokenizer tok = SalsaTokenizer.load(base);
             GptModel before = GptModel.load(base, GptModel.Head.NONE, Device.cpu());
             GptModel after = GptModel.load(tmp.resolve("a"), GptModel.Head.NONE, Device.cpu())) {
            List<SftData.Sequence> seqs = SftData.encodeAll(tok, SftData.read(data), 32);
            double lossBefore = SftTrainer.evalLoss(before, seqs, 8);
            double lossAfter = SftTrainer.evalLoss(after, seqs, 8);
            assertTrue(lossAfter < lossBefore - 0.5, "loss " + lossBefore + " → " + lossAfter);
        }
        JsonNode card = new ObjectMapper().readTree(tmp.resolve("a/card.json").toFile());
        assertEquals(SftData.sha256(data), card.get("data_sha256").asText());
        assertEquals(7, card.get("seed").asLong());
        assertEquals(8, card.get("steps").asInt());
        assertTrue(Double.isFinite(card.get("final_eval_loss").asDouble()));
        assertTrue(Files.isRegularFile(tmp.resolve("a/tokenizer.json")));
        assertTrue(Files.isRegularFile(tmp.resolve("a/config.json")));
    }

    @Test
    void shouldLeaveExactlyZeroGradientsAfterZeroing() throws Exception {
        Path base = TinyFixtures.baseModel(tmp.resolve("base"));
        try (GptModel m = GptModel.load(base, GptModel.Head.NONE, Device.cpu())) {
            SftBatch batch = SftBatch.of(List.of(new SftData.Sequence(new int[] {5, 6, 7, 8, 0}, 2)), 1);
            for (int round = 0; round < 3; round++) {
                m.setTrainable(true);
                SftTrainer.trainStep(m, batch);
                assertTrue(Gradients.clipGlobalNorm(m.parameters().values(), 0) > 0);
                Gradients.zero(m.parameters().values());
                for (var e : m.parameters().entrySet()) {
                    try (var g = e.getValue().getArray().getGradient()) {
                        for (float x : g.toFloatArray()) {
                            assertEquals(0f, x, 0f, e.getKey());
                        }
                    }
                }
            }
        }
    }

    @Test
    void shouldTrainOnlyResponseTokensAndEos() {
        SftBatch batch = SftBatch.of(List.of(new SftData.Sequence(new int[] {5, 6, 7, 8, 0}, 2),
                new SftData.Sequence(new int[] {5, 9, 0}, 1)), 1);
        assertArrayEquals(new long[] {5, 9, 0, 1, 1}, batch.ids()[1]);
        assertArrayEquals(new long[] {1, 1, 1, 0, 0}, batch.mask()[1]);
        // lossMask[t] trains the prediction of token t+1
        assertArrayEquals(new float[] {0, 1, 1, 1}, batch.lossMask()[0]);
        assertArrayEquals(new float[] {1, 1, 0, 0}, batch.lossMask()[1]);
        assertEquals(8, batch.tokens());
    }

    @Test
    void shouldNameFileAndLineOfABadJsonlLine() throws IOException {
        Path data = tmp.resolve("bad.jsonl");
        Files.writeString(data, TinyFixtures.jsonl(2).get(0) + "\n\n{\"prompt\": \"x\", \"response\": 3}\n");
        IOException e = assertThrows(IOException.class, () -> SftData.read(data));
        assertTrue(e.getMessage().contains("bad.jsonl:3") && e.getMessage().contains("\"response\" must be a string"), e.getMessage());
        Files.writeString(data, "{\"prompt\": \"x\", \"response\": \"y\"}\n{not json\n");
        e = assertThrows(IOException.class, () -> SftData.read(data));
        assertTrue(e.getMessage().contains("bad.jsonl:2: not valid JSON"), e.getMessage());
    }

    @Test
    void shouldExitWithCode2AndAClearMessageFromTheCommandLine() throws Exception {
        Path base = TinyFixtures.baseModel(tmp.resolve("base"));
        Path data = tmp.resolve("data.jsonl");
        Files.writeString(data, TinyFixtures.jsonl(3).get(0) + "\n[1, 2]\n");
        assertCli(2, "no such file", "--data", tmp.resolve("missing.jsonl").toString(), "--base", base.toString(),
                "--seed", "1", "--out", tmp.resolve("o1").toString());
        assertCli(2, "data.jsonl:2: expected a JSON object", "--data", data.toString(), "--base", base.toString(),
                "--seed", "1", "--out", tmp.resolve("o2").toString());
        Files.write(data, TinyFixtures.jsonl(4));
        assertCli(2, "--lr must be in (0, 1)", "--data", data.toString(), "--base", base.toString(),
                "--seed", "1", "--out", tmp.resolve("o3").toString(), "--lr", "3");
        assertCli(0, "", "--data", data.toString(), "--base", base.toString(), "--seed", "1",
                "--out", tmp.resolve("o4").toString(), "--max-steps", "2", "--batch-size", "2");
        assertTrue(Files.isRegularFile(tmp.resolve("o4/card.json")));
    }

    private static void assertCli(int code, String errorPart, String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            rc = new CommandLine(new SftTrainCommand()).execute(args);
        } finally {
            System.setErr(old);
        }
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(code, rc, text);
        assertTrue(text.contains(errorPart), text);
        assertFalse(text.contains("\tat "), "no stack trace: " + text);
    }
}
