package io.salsa.model.soup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.lm.llama.LlamaConfig;
import io.salsa.model.lm.llama.LlamaModel;
import io.salsa.model.safetensors.Checkpoint;
import io.salsa.model.train.PretrainCommand;
import io.salsa.model.train.SftData;
import io.salsa.model.train.SftTrainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Soups of Llama-family members: single or sharded files, the architecture compared by what the config means. */
class LlamaSoupsTest {

    private static final SoupConfig SMALL_CHUNKS = new SoupConfig(1024, true, true);
    private static final PretrainCommand.Shape TINY = new PretrainCommand.Shape("llama", 2, 4, 2, 32, 64, 32);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private Path member(String name, LlamaConfig config, long seed, long maxShardBytes) throws IOException {
        Path out = dir.resolve(name);
        try (LlamaModel m = LlamaModel.random(config, GptModel.Head.NONE, seed, Device.cpu())) {
            m.save(out, maxShardBytes);
        }
        return out;
    }

    @Test
    void aSoupOfTwoLlamaMembersShouldBeTheirElementwiseMeanWhetherShardedOrNot() throws IOException {
        LlamaConfig config = TINY.llamaConfig(32, 0, 0, 1);
        Path a = member("a", config, 1, Long.MAX_VALUE);
        Path b = member("b", config, 2, 20_000);
        assertTrue(Files.isRegularFile(b.resolve(Checkpoint.INDEX)), "member b is sharded");
        Path out = dir.resolve("soup");
        Soups.Result r = Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(b)), out, SMALL_CHUNKS);
        assertFalse(r.memberSha256().get(1).isEmpty(), "a sharded member has a hash too");
        try (CausalLm ma = CausalLms.load(a, GptModel.Head.NONE, Device.cpu());
             CausalLm mb = CausalLms.load(b, GptModel.Head.NONE, Device.cpu());
             CausalLm soup = CausalLms.load(out, GptModel.Head.NONE, Device.cpu())) {
            assertEquals("llama", soup.modelType());
            assertEquals(ma.parameters().size(), r.tensors());
            for (String name : ma.parameters().keySet()) {
                float[] x = ma.weights(name);
                float[] y = mb.weights(name);
                float[] mean = new float[x.length];
                for (int i = 0; i < x.length; i++) {
                    mean[i] = 0.5f * x[i] + 0.5f * y[i];
                }
                assertArrayEquals(mean, soup.weights(name), name);
            }
        }
    }

    @Test
    void bf16ShardedMembersShouldGiveABf16SoupShardedLikeThem() throws IOException {
        Path golden = io.salsa.model.GoldenFiles.require("llama/bf16-sharded");
        Path copy = dir.resolve("copy");
        Files.createDirectories(copy);
        try (var files = Files.list(golden)) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        Path out = dir.resolve("soup");
        Soups.build(List.of(Soups.Member.of(golden), Soups.Member.of(copy)), out, SMALL_CHUNKS);
        try (CausalLm member = CausalLms.load(golden, GptModel.Head.NONE, Device.cpu());
             CausalLm soup = CausalLms.load(out, GptModel.Head.NONE, Device.cpu())) {
            for (String name : member.parameters().keySet()) {
                assertArrayEquals(member.weights(name), soup.weights(name), name + ": (x + x) / 2 = x, stored as bf16");
            }
        }
        assertEquals("bfloat16", JSON.readTree(out.resolve("config.json").toFile()).get("dtype").asText());
        assertEquals(JSON.readTree(golden.resolve(Checkpoint.INDEX).toFile()).get("weight_map"),
                JSON.readTree(out.resolve(Checkpoint.INDEX).toFile()).get("weight_map"), "the golden shards, as transformers saved them");
        for (String shard : List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")) {
            assertEquals(-1L, Files.mismatch(golden.resolve(shard), out.resolve(shard)),
                    shard + ": a soup of x and x is x, byte for byte as save_pretrained wrote it");
        }
    }

    @Test
    void shouldRefuseMembersOfAnotherShapeNamingTheFirstMismatchingField() throws IOException {
        Path a = member("a", TINY.llamaConfig(32, 0, 0, 1), 1, Long.MAX_VALUE);
        Path mha = member("mha", new PretrainCommand.Shape("llama", 2, 4, 4, 32, 64, 32).llamaConfig(32, 0, 0, 1), 2,
                Long.MAX_VALUE);
        SoupException e = assertThrows(SoupException.class,
                () -> Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(mha)), dir.resolve("s1")));
        assertTrue(e.getMessage().contains("member 2 (" + mha + ") has config.json num_key_value_heads = 4 but member 1 ("
                + a + ") has 2"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("s1").resolve("model.safetensors")));

        Path theta = member("theta", TINY.llamaConfig(32, 0, 0, 1), 3, Long.MAX_VALUE);
        ObjectNode c = (ObjectNode) JSON.readTree(theta.resolve("config.json").toFile());
        ((ObjectNode) c.get("rope_parameters")).put("rope_theta", 500000.0);
        JSON.writeValue(theta.resolve("config.json").toFile(), c);
        e = assertThrows(SoupException.class,
                () -> Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(theta)), dir.resolve("s2")));
        assertTrue(e.getMessage().contains("rope_theta = 500000.0"), e.getMessage());
    }

    @Test
    void shouldAcceptTheSameArchitectureWrittenInTheTransformers4Layout() throws IOException {
        Path a = member("a", TINY.llamaConfig(32, 0, 0, 1), 1, Long.MAX_VALUE);
        Path v4 = member("v4", TINY.llamaConfig(32, 0, 0, 1), 2, Long.MAX_VALUE);
        ObjectNode c = (ObjectNode) JSON.readTree(v4.resolve("config.json").toFile());
        JsonNode rope = c.remove("rope_parameters");
        c.put("rope_theta", rope.get("rope_theta").asDouble());
        c.putNull("rope_scaling");
        c.remove("dtype");
        c.put("torch_dtype", "bfloat16");
        JSON.writeValue(v4.resolve("config.json").toFile(), c);
        Path out = dir.resolve("soup");
        Soups.build(List.of(Soups.Member.of(v4), Soups.Member.of(a)), out, SMALL_CHUNKS);
        assertEquals("float32", JSON.readTree(out.resolve("config.json").toFile()).get("torch_dtype").asText(),
                "the soup is stored in float32 and its config says so");
    }

    @Test
    void greedySoupShouldEvaluateLlamaMembersThroughTheirResponseLoss() throws IOException {
        LlamaConfig config = TINY.llamaConfig(32, 0, 0, 1);
        Path a = member("a", config, 1, Long.MAX_VALUE);
        Path b = member("b", config, 2, Long.MAX_VALUE);
        List<SftData.Sequence> eval = List.of(new SftData.Sequence(new int[] {3, 4, 5, 6, 7, 0}, 2, null),
                new SftData.Sequence(new int[] {8, 9, 10, 11, 0}, 3, null));
        EvalLoss nll = EvalLoss.responseNll(eval, 2, Device.cpu());
        GreedySoup.Result r = GreedySoup.build(List.of(a, b), dir.resolve("greedy"), nll, SMALL_CHUNKS);
        try (CausalLm m = CausalLms.load(a, GptModel.Head.NONE, Device.cpu())) {
            double own = SftTrainer.evalLoss(m, eval, 2);
            assertEquals(own, r.candidates().stream().filter(cand -> cand.dir().equals(a)).findFirst().orElseThrow()
                    .evalLoss());
        }
        assertEquals(r.evalLoss(), nll.evaluate(dir.resolve("greedy")), 1e-6, "the written soup is the one evaluated");
    }
}
