package io.salsa.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.lm.Adaptable;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.lora.LoraAdapter;
import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.lm.lora.LoraSpec;
import io.salsa.model.soup.LoraSoups;
import io.salsa.model.soup.SoupCommand;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.runtime.blob.Sha256;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** LoRA SFT (`salsa sft train --lora`) and soups of LoRA SFT members (`salsa soup` with adapter folders). */
class LoraSftTest {

    private static final LoraConfig ALL_LLAMA = LoraSpec.parse(
            "r=4,alpha=8,targets=q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj");

    @TempDir
    Path tmp;

    private SftRun.Request request(Path data, Path base, String out, long seed) {
        return new SftRun.Request(data, null, base, null, tmp.resolve(out),
                new SftConfig(4, 1e-2, 4, 2, 0, 1.0, 0.0, seed), Device.cpu(), ALL_LLAMA);
    }

    @Test
    void shouldLowerTheEvalLossTrainingOnlyAAndBWhileTheBaseStaysBitIdentical() throws Exception {
        Path base = TinyFixtures.llamaBaseModel(tmp.resolve("base"), false);
        Path data = Files.write(tmp.resolve("data.jsonl"), TinyFixtures.jsonl(24));
        try (SalsaTokenizer tok = SalsaTokenizer.load(base);
             CausalLm model = CausalLms.load(base, GptModel.Head.NONE, Device.cpu())) {
            List<SftData.Sequence> seqs = SftData.encodeAll(tok, SftData.read(data), model.maxPositions());
            Map<String, float[]> baseWeights = new HashMap<>();
            model.parameters().keySet().forEach(n -> baseWeights.put(n, model.weights(n)));
            double before = SftTrainer.evalLoss(model, seqs, 8);
            try (LoraAdapter adapter = LoraAdapter.create((Adaptable) model, ALL_LLAMA, 5)) {
                Map<String, float[]> initial = new HashMap<>();
                adapter.parameters().forEach((k, p) -> initial.put(k, p.getArray().toFloatArray()));
                SftTrainer.Result r = SftTrainer.train(model, adapter.parameters(), seqs, seqs,
                        new SftConfig(4, 1e-2, 4, 2, 0, 1.0, 0.0, 3), line -> { });
                assertTrue(r.finalEvalLoss() < before - 0.3, "eval loss " + before + " → " + r.finalEvalLoss());
                model.parameters().forEach((n, p) -> assertArrayEquals(baseWeights.get(n), p.getArray().toFloatArray(),
                        "base weight " + n + " must not change"));
                adapter.parameters().forEach((k, p) -> assertFalse(
                        java.util.Arrays.equals(initial.get(k), p.getArray().toFloatArray()), k + " was trained"));
                assertFalse(model.isTrainable(), "the base is left frozen");
            }
        }
    }

    @Test
    void shouldWriteAnAdapterFolderThatNamesItsBaseReloadsToTheSameLossAndRepeatsBitExact() throws Exception {
        Path base = TinyFixtures.llamaBaseModel(tmp.resolve("base"), false);
        Path data = Files.write(tmp.resolve("data.jsonl"), TinyFixtures.jsonl(24));
        String baseSha = Sha256.of(base.resolve("model.safetensors"));
        SftTrainer.Result a = SftRun.run(request(data, base, "a", 7), line -> { });
        SftRun.run(request(data, base, "b", 7), line -> { });
        SftRun.run(request(data, base, "c", 8), line -> { });
        assertEquals(baseSha, Sha256.of(base.resolve("model.safetensors")), "the base folder is untouched");

        Path out = tmp.resolve("a");
        assertFalse(Files.exists(out.resolve("model.safetensors")), "an adapter folder, not a full model");
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));
        assertArrayEquals(Files.readAllBytes(out.resolve(LoraAdapter.WEIGHTS_FILE)),
                Files.readAllBytes(tmp.resolve("b").resolve(LoraAdapter.WEIGHTS_FILE)), "same seed → same adapter bytes");
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(out.resolve(LoraAdapter.WEIGHTS_FILE)),
                Files.readAllBytes(tmp.resolve("c").resolve(LoraAdapter.WEIGHTS_FILE))), "another seed → another adapter");
        LoraConfig saved = LoraConfig.read(out);
        assertEquals(base.toAbsolutePath().normalize().toString(), saved.baseModel());
        assertEquals(ALL_LLAMA.targetModules(), saved.targetModules());
        JsonNode card = new ObjectMapper().readTree(out.resolve("card.json").toFile());
        assertEquals("sft-lora", card.get("kind").asText());
        assertEquals(baseSha, card.get("base_sha256").asText());
        assertEquals(LoraSoups.baseSha256(base), card.get("base_sha256").asText());
        assertEquals(4, card.get("lora").get("r").asInt());

        try (SalsaTokenizer tok = SalsaTokenizer.load(base);
             CausalLm fresh = CausalLms.load(base, GptModel.Head.NONE, Device.cpu())) {
            List<SftData.Sequence> seqs = SftData.encodeAll(tok, SftData.read(data), fresh.maxPositions());
            double baseLoss = SftTrainer.evalLoss(fresh, seqs, 4);
            try (LoraAdapter loaded = LoraAdapter.load((Adaptable) fresh, out)) {
                assertEquals(baseSha, loaded.baseSha256());
                double loss = SftTrainer.evalLoss(fresh, seqs, 4);
                assertTrue(loss < baseLoss - 0.3, "the adapter fine-tunes: " + baseLoss + " → " + loss);
                // the run's eval set is the training data (fewer than 40 examples): the same logits give the same loss
                assertEquals(a.finalEvalLoss(), loss, "same adapter in a fresh model, same eval loss");
            }
        }
    }

    @Test
    void sftTrainCommandShouldTakeLoraSpecsAndRefuseBadOnesWithExitCodeTwo() throws Exception {
        Path base = TinyFixtures.llamaBaseModel(tmp.resolve("base"), false);
        Path data = Files.write(tmp.resolve("data.jsonl"), TinyFixtures.jsonl(24));
        String[] err = new String[1];
        assertEquals(0, sft(err, base, data, "ok", "r=4,alpha=8,targets=q_proj,v_proj,dropout=0.05,rslora"), err[0]);
        LoraConfig saved = LoraConfig.read(tmp.resolve("ok"));
        assertEquals(List.of("q_proj", "v_proj"), saved.targetModules());
        assertTrue(saved.useRslora());
        assertEquals(0.05, saved.dropout());

        assertEquals(2, sft(err, base, data, "x1", "r=0,alpha=8,targets=q_proj"));
        assertTrue(err[0].contains("--lora: r must be an integer > 0, got 0"), err[0]);
        assertEquals(2, sft(err, base, data, "x2", "r=4,size=8,targets=q_proj"));
        assertTrue(err[0].contains("unknown key 'size'") && err[0].contains("allowed: r, alpha, targets, dropout, rslora"),
                err[0]);
        assertEquals(2, sft(err, base, data, "x3", "r=4,targets=c_attn"));
        assertTrue(err[0].contains("--lora: unknown LoRA target module 'c_attn' for a llama model") && err[0].contains("q_proj"),
                err[0]);
        assertEquals(2, sft(err, base, data, "x4", "r=4,dropout=1.5,targets=q_proj"));
        assertTrue(err[0].contains("dropout must be in [0, 1)"), err[0]);
        assertEquals(2, sft(err, base, data, "x5", "r=4,alpha=8"));
        assertTrue(err[0].contains("targets is missing"), err[0]);
        assertEquals(2, sft(err, base, data, "x6", "r=four,targets=q_proj"));
        assertTrue(err[0].contains("r must be an integer > 0, got 'four'"), err[0]);
        assertEquals(2, sft(err, base, data, "ok", "r=4,targets=q_proj"));
        assertTrue(err[0].contains("already holds a LoRA adapter"), err[0]);
        for (String refused : List.of("x1", "x2", "x3", "x4", "x5", "x6")) {
            assertFalse(Files.exists(tmp.resolve(refused).resolve(LoraConfig.FILE)), refused + " wrote nothing");
        }
    }

    @Test
    void loraSoupOfTwoLoraSftRunsShouldEqualTheMeanOfTheMergedModelsAndRefuseAnotherBase() throws Exception {
        Path base = TinyFixtures.llamaBaseModel(tmp.resolve("base"), false);
        Path data = Files.write(tmp.resolve("data.jsonl"), TinyFixtures.jsonl(24));
        SftRun.run(request(data, base, "m1", 1), line -> { });
        SftRun.run(request(data, base, "m2", 2), line -> { });
        Path soup = tmp.resolve("soup");
        String[] err = new String[1];
        // no --base: taken from the adapters' base_model_name_or_path, checked by sha256
        assertEquals(0, soup(err, "--member", tmp.resolve("m1").toString(), "--member", tmp.resolve("m2").toString(),
                "--out", soup.toString()), err[0]);

        Map<String, float[]> merged1 = merged(base, tmp.resolve("m1"));
        Map<String, float[]> merged2 = merged(base, tmp.resolve("m2"));
        float w = 0.5f;
        try (CausalLm s = CausalLms.load(soup, GptModel.Head.NONE, Device.cpu());
             CausalLm b = CausalLms.load(base, GptModel.Head.NONE, Device.cpu())) {
            int changed = 0;
            for (String name : merged1.keySet()) {
                float[] x1 = merged1.get(name);
                float[] x2 = merged2.get(name);
                float[] mean = new float[x1.length];
                for (int i = 0; i < mean.length; i++) {
                    mean[i] = w * x1[i];
                    mean[i] += w * x2[i];
                }
                assertArrayEquals(mean, s.weights(name), name + ": the soup is the mean of the merged members");
                changed += java.util.Arrays.equals(mean, b.weights(name)) ? 0 : 1;
            }
            assertEquals(7 * 2, changed, "every adapted projection of both layers moved");
        }

        // a member trained on another base is refused, naming both
        Path gpt = TinyFixtures.baseModel(tmp.resolve("gpt-base"));
        SftRun.run(new SftRun.Request(data, null, gpt, null, tmp.resolve("g1"), new SftConfig(1, 1e-2, 4, 0, 2, 1.0, 0.0, 1),
                Device.cpu(), LoraSpec.parse("r=2,targets=c_attn")), line -> { });
        assertEquals(2, soup(err, "--member", tmp.resolve("m1").toString(), "--member", tmp.resolve("g1").toString(),
                "--out", tmp.resolve("bad").toString()));
        assertTrue(err[0].contains("different bases") && err[0].contains(tmp.resolve("m1").toString())
                && err[0].contains(tmp.resolve("g1").toString()), err[0]);
        assertEquals(2, soup(err, "--base", gpt.toString(), "--member", tmp.resolve("m1").toString(), "--member",
                tmp.resolve("m2").toString(), "--out", tmp.resolve("bad").toString()));
        assertTrue(err[0].contains("was trained on base sha256") && err[0].contains(gpt.toString()), err[0]);
        assertEquals(2, soup(err, "--member", tmp.resolve("m1").toString(), "--member", base.toString(),
                "--out", tmp.resolve("bad").toString()));
        assertTrue(err[0].contains("is a full model"), err[0]);
        assertNotEquals(LoraSoups.baseSha256(base), LoraSoups.baseSha256(gpt));
    }

    @Test
    void loraSpecShouldReadPeftStyleTargetListsDefaultAlphaToRAndRefuseRepeatedKeys() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraSpec.parse("r=4,targets=q_proj,v_proj,r=8"));
        assertTrue(e.getMessage().contains("'r' given twice"), e.getMessage());
        LoraConfig c = LoraSpec.parse("r=16,alpha=32,targets=q_proj,v_proj");
        assertEquals(2.0, c.scaling());
        assertEquals(List.of("q_proj", "v_proj"), c.targetModules());
        assertEquals(1.0, LoraSpec.parse("r=8,targets=c_attn").scaling(), "alpha defaults to r");
    }

    /** The base with {@code adapter} merged in, weight by weight. */
    private static Map<String, float[]> merged(Path base, Path adapter) throws Exception {
        Map<String, float[]> out = new HashMap<>();
        try (CausalLm m = CausalLms.load(base, GptModel.Head.NONE, Device.cpu())) {
            LoraAdapter.load((Adaptable) m, adapter).merge();
            m.parameters().keySet().forEach(n -> out.put(n, m.weights(n)));
        }
        return out;
    }

    private int sft(String[] err, Path base, Path data, String out, String lora) {
        return capture(err, new SftTrainCommand(), "--data", data.toString(), "--base", base.toString(), "--out",
                tmp.resolve(out).toString(), "--seed", "1", "--max-steps", "2", "--batch-size", "4", "--warmup", "0",
                "--lora", lora);
    }

    private static int soup(String[] err, String... args) {
        return capture(err, new SoupCommand(), args);
    }

    private static int capture(String[] err, Object command, String... args) {
        PrintStream original = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            return new CommandLine(command).execute(args);
        } finally {
            System.setErr(original);
            err[0] = buf.toString(StandardCharsets.UTF_8);
        }
    }
}
