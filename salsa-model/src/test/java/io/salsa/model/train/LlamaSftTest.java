package io.salsa.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.llama.LlamaModel;
import io.salsa.model.tokenizer.ChatMessage;
import io.salsa.model.tokenizer.ChatTemplate;
import io.salsa.model.tokenizer.SalsaTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** SFT of a tiny Llama-style model (grouped-query attention) through the same trainer, run and command as GPT-2. */
class LlamaSftTest {

    @TempDir
    Path tmp;

    @Test
    void shouldLowerTheEvalLossOfALlamaModelAndSaveAFolderThatReloadsBitExact() throws Exception {
        Path base = TinyFixtures.llamaBaseModel(tmp.resolve("base"), false);
        Path data = Files.write(tmp.resolve("data.jsonl"), TinyFixtures.jsonl(24));
        Path out = tmp.resolve("sft");
        try (SalsaTokenizer tok = SalsaTokenizer.load(base);
             CausalLm model = CausalLms.load(base, GptModel.Head.NONE, Device.cpu())) {
            assertTrue(model instanceof LlamaModel, "a llama config.json loads the Llama implementation");
            List<SftData.Sequence> seqs = SftData.encodeAll(tok, SftData.read(data), model.maxPositions());
            double before = SftTrainer.evalLoss(model, seqs, 8);
            SftTrainer.Result r = SftTrainer.train(model, seqs, seqs, new SftConfig(4, 5e-3, 4, 2, 0, 1.0, 0.0, 3),
                    line -> { });
            assertEquals(24, r.steps());
            assertTrue(r.finalEvalLoss() < before - 0.5, "eval loss " + before + " → " + r.finalEvalLoss());
            model.save(out);

            try (CausalLm reloaded = CausalLms.load(out, GptModel.Head.NONE, Device.cpu())) {
                assertEquals(model.parameters().keySet(), reloaded.parameters().keySet());
                for (String name : model.parameters().keySet()) {
                    assertArrayEquals(model.weights(name), reloaded.weights(name), name);
                }
                assertEquals(r.finalEvalLoss(), SftTrainer.evalLoss(reloaded, seqs, 8), "same weights, same loss");
            }
        }
        JsonNode config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertEquals("llama", config.get("model_type").asText());
        assertEquals(2, config.get("num_key_value_heads").asInt());
        assertTrue(config.has("rope_parameters"), "transformers 5 layout: " + config);
    }

    @Test
    void chatSftOfALlamaModelShouldLearnTheAssistantTurnsOnly() throws Exception {
        Path base = TinyFixtures.llamaBaseModel(tmp.resolve("chat-base"), true);
        List<ChatMessage> conversation = List.of(
                new ChatMessage("user", "what colour is the sky ?"),
                new ChatMessage("assistant", "the sky is blue ."),
                new ChatMessage("user", "what colour is the snow ?"),
                new ChatMessage("assistant", "the snow is white ."));
        try (SalsaTokenizer tok = SalsaTokenizer.load(base);
             CausalLm model = CausalLms.load(base, GptModel.Head.NONE, Device.cpu())) {
            ChatTemplate template = ChatTemplate.load(base).orElseThrow();
            SftData.Sequence s = SftData.encodeConversation(tok, template, conversation, model.maxPositions());
            // trained: from after each <|assistant|> up to and including its <|end|>; never a user turn
            int assistant = tok.encode("<|assistant|>")[0];
            int end = tok.encode("<|end|>")[0];
            boolean inAssistant = false;
            int trained = 0;
            for (int j = 0; j < s.ids().length; j++) {
                assertEquals(inAssistant, s.isTrained(j), "token " + j + " (" + tok.decode(new int[] {s.ids()[j]}) + ")");
                trained += s.isTrained(j) ? 1 : 0;
                if (s.ids()[j] == assistant) {
                    inAssistant = true;
                } else if (s.ids()[j] == end) {
                    inAssistant = false;
                }
            }
            assertEquals(2 * 6, trained, "two answers of five words and their <|end|>");

            // the Llama model's loss is the mean NLL of exactly those tokens
            SftBatch batch = SftBatch.of(List.of(s), tok.padId());
            try (NDManager scope = model.newScope()) {
                NDArray ids = scope.create(batch.ids());
                NDArray mask = scope.create(batch.mask());
                float loss = LmLoss.nextTokenLoss(model, ids, mask, scope.create(batch.lossMask())).getFloat();
                float[] logp = model.tokenLogProbs(ids, mask).toFloatArray();
                double sum = 0;
                for (int j = 1; j < s.ids().length; j++) {
                    sum += s.isTrained(j) ? -logp[j - 1] : 0;
                }
                assertEquals(sum / trained, loss, 1e-5);
            }
        }

        // and through the whole run: conversations in, eval loss down, template and tokenizer carried along
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            String thing = TinyFixtures.THINGS[i % TinyFixtures.THINGS.length];
            String colour = TinyFixtures.COLOURS[(i % TinyFixtures.THINGS.length) % TinyFixtures.COLOURS.length];
            lines.add("{\"messages\": [{\"role\": \"user\", \"content\": \"what colour is the " + thing + " ?\"}, "
                    + "{\"role\": \"assistant\", \"content\": \"the " + thing + " is " + colour + " .\"}]}");
        }
        Path data = Files.write(tmp.resolve("chat.jsonl"), lines);
        Path out = tmp.resolve("chat-sft");
        SftTrainer.Result r = SftRun.run(new SftRun.Request(data, null, base, null, out,
                new SftConfig(4, 5e-3, 4, 2, 0, 1.0, 0.0, 5), Device.cpu()), line -> { });
        try (SalsaTokenizer tok = SalsaTokenizer.load(base);
             CausalLm before = CausalLms.load(base, GptModel.Head.NONE, Device.cpu())) {
            ChatTemplate template = ChatTemplate.load(base).orElseThrow();
            List<SftData.Sequence> seqs = SftData.encodeAll(tok, template, SftData.read(data), before.maxPositions());
            double lossBefore = SftTrainer.evalLoss(before, seqs, 8);
            assertTrue(r.finalEvalLoss() < lossBefore - 0.5, "assistant-token loss " + lossBefore + " → " + r.finalEvalLoss());
        }
        assertTrue(ChatTemplate.load(out).isPresent(), "the chat template travels with the model");
    }

    @Test
    void sftTrainCommandShouldTakeALlamaFolderAsBase() throws Exception {
        Path base = TinyFixtures.llamaBaseModel(tmp.resolve("base"), false);
        Path data = Files.write(tmp.resolve("data.jsonl"), TinyFixtures.jsonl(24));
        Path out = tmp.resolve("out");
        int rc = new CommandLine(new SftTrainCommand()).execute("--data", data.toString(), "--base", base.toString(),
                "--out", out.toString(), "--seed", "1", "--max-steps", "4", "--batch-size", "4", "--warmup", "1");
        assertEquals(0, rc);
        try (CausalLm model = CausalLms.load(out, GptModel.Head.NONE, Device.cpu());
             SalsaTokenizer tok = SalsaTokenizer.load(out)) {
            assertEquals("llama", model.modelType());
            assertEquals(32, model.vocabSize());
            assertTrue(tok.vocabSize() <= model.vocabSize());
        }
        JsonNode card = new ObjectMapper().readTree(out.resolve("card.json").toFile());
        assertEquals(4, card.get("steps").asInt());
        assertEquals(SftData.sha256(out.resolve("model.safetensors")), card.get("weights_sha256").asText());
    }
}
