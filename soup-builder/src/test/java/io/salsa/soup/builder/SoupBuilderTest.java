package io.salsa.soup.builder;

import io.salsa.runtime.blob.ModelFolderStore;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.events.BlobRef;
import io.salsa.events.SftModelKind;
import io.salsa.events.SftModelLanded;
import io.salsa.events.SoupManifest;
import io.salsa.events.SoupMethod;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.safetensors.Checkpoint;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.soup.LoraSoups;
import io.salsa.runtime.blob.LocalBlobStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SoupBuilderTest {

    private static final GptConfig TINY = GptConfig.of(1, 2, 16, 32, 16, 0, 1);

    private static SftModelLanded landed(String id, BlobRef blob, String base, long at) {
        return SftModelLanded.newBuilder().setModelId(id).setBlob(blob).setBaseModel(base).setSeed(1)
                .setDataSha256("d").setLandedAtMs(at).build();
    }

    private static Path model(Path dir, GptConfig config, long seed) throws IOException {
        try (GptModel m = GptModel.random(config, GptModel.Head.NONE, seed, Device.cpu())) {
            m.save(dir);
        }
        return dir;
    }

    @Test
    void shouldPublishOnMemberChangesOnlyAndRefuseBadMembers(@TempDir Path tmp) throws Exception {
        ModelFolderStore store = new ModelFolderStore(new LocalBlobStore(tmp.resolve("store")), tmp.resolve("cache"));
        SoupBuilder builder = new SoupBuilder(List.of(SoupRecipe.parse("name=pair,base=tiny,k=2")), store,
                tmp.resolve("work"));
        BlobRef a = store.putFolder(model(tmp.resolve("a"), TINY, 1), "test/a");
        BlobRef b = store.putFolder(model(tmp.resolve("b"), TINY, 2), "test/b");
        BlobRef c = store.putFolder(model(tmp.resolve("c"), TINY, 3), "test/c");

        assertInstanceOf(SoupBuilder.Unchanged.class, builder.onModelLanded(landed("a", a, "tiny", 1)).get(0));
        SoupManifest v1 = ((SoupBuilder.Published) builder.onModelLanded(landed("b", b, "tiny", 2)).get(0)).manifest();
        assertEquals(1, v1.getVersion());
        assertEquals(SoupMethod.UNIFORM, v1.getMethod());
        assertEquals(List.of("a", "b"), v1.getMembers().stream().map(m -> m.getModelId()).toList());
        assertEquals(0.5, v1.getMembers().get(0).getWeight(), 0);
        // the soup is the element-wise mean of its members
        float[] wa = read(store.fetchFolder(a), "transformer.wte.weight");
        float[] wb = read(store.fetchFolder(b), "transformer.wte.weight");
        float[] soup = read(store.fetchFolder(v1.getBlob()), "transformer.wte.weight");
        for (int i = 0; i < soup.length; i += 37) {
            assertEquals((wa[i] + wb[i]) / 2, soup[i], 1e-7f);
        }

        // the same member set again is a no-op
        assertInstanceOf(SoupBuilder.Unchanged.class, builder.onModelLanded(landed("b", b, "tiny", 2)).get(0));
        // a newer model changes the K=2 most recent set
        SoupManifest v2 = ((SoupBuilder.Published) builder.onModelLanded(landed("c", c, "tiny", 3)).get(0)).manifest();
        assertEquals(2, v2.getVersion());
        assertEquals(List.of("b", "c"), v2.getMembers().stream().map(m -> m.getModelId()).toList());

        // a member whose blob fails its checksum is refused; the last good soup stays
        BlobRef d = store.putFolder(model(tmp.resolve("d"), TINY, 4), "test/d");
        BlobRef corrupt = new BlobRef(d.getUri(), "0".repeat(64), d.getSizeBytes());
        SoupBuilder.Outcome bad = builder.onModelLanded(landed("d", corrupt, "tiny", 4)).get(0);
        assertEquals("d", ((SoupBuilder.Refused) bad).modelId());
        assertEquals(2, builder.current("pair").getVersion());

        // a member of a different shape is refused, naming the mismatch; the last good soup stays
        BlobRef e = store.putFolder(model(tmp.resolve("e"), GptConfig.of(1, 2, 8, 32, 16, 0, 1), 5), "test/e");
        SoupBuilder.Refused shape = (SoupBuilder.Refused) builder.onModelLanded(landed("e", e, "tiny", 5)).get(0);
        assertEquals("e", shape.modelId());
        assertTrue(shape.error().getMessage().contains("n_embd") || shape.error().getMessage().contains("shape"),
                shape.error().getMessage());
        assertEquals(2, builder.current("pair").getVersion());
        // after the refusals the recipe is back on b, c: nothing to publish
        assertInstanceOf(SoupBuilder.Unchanged.class, builder.evaluateAll().get(0));
    }

    private static SftModelLanded adapterLanded(String id, BlobRef blob, BlobRef base, String baseSha, long at) {
        return SftModelLanded.newBuilder(landed(id, blob, "tiny", at)).setKind(SftModelKind.LORA_ADAPTER)
                .setBase(base).setBaseWeightsSha256(baseSha).build();
    }

    @Test
    void shouldSoupLoraAdaptersOfOneBaseAndRefuseOtherBasesAndMixedKinds(@TempDir Path tmp) throws Exception {
        ModelFolderStore store = new ModelFolderStore(new LocalBlobStore(tmp.resolve("store")), tmp.resolve("cache"));
        SoupBuilder builder = new SoupBuilder(List.of(SoupRecipe.parse("name=lora,base=tiny,k=2"),
                SoupRecipe.parse("name=w,base=tiny,members=a1:3|a2:1")), store, tmp.resolve("work"));
        Path base = LoraMembers.base(tmp.resolve("base"), 1);
        Path other = LoraMembers.base(tmp.resolve("other"), 2);
        String baseSha = LoraSoups.baseSha256(base);
        String otherSha = LoraSoups.baseSha256(other);
        BlobRef baseBlob = store.putFolder(base, "bases/base");
        Path a1 = LoraMembers.adapter(base, tmp.resolve("a1"), 11);
        Path a2 = LoraMembers.adapter(base, tmp.resolve("a2"), 12);

        assertInstanceOf(SoupBuilder.Unchanged.class, builder.onModelLanded(
                adapterLanded("a1", store.putFolder(a1, "sft/a1"), baseBlob, baseSha, 1)).get(0));
        List<SoupBuilder.Outcome> both = builder.onModelLanded(
                adapterLanded("a2", store.putFolder(a2, "sft/a2"), baseBlob, baseSha, 2));
        // each soup is exactly what LoraSoups.build makes of the base and the adapters, uniform and weighted
        SoupManifest uniform = ((SoupBuilder.Published) both.get(0)).manifest();
        SoupManifest weighted = ((SoupBuilder.Published) both.get(1)).manifest();
        assertEquals(List.of("a1", "a2"), uniform.getMembers().stream().map(m -> m.getModelId()).toList());
        String expected = LoraSoups.build(base, List.of(a1, a2), tmp.resolve("expected")).sha256();
        assertEquals(expected, Checkpoint.weightsSha256(store.fetchFolder(uniform.getBlob())));
        assertEquals(LoraSoups.build(base, List.of(a1, a2), List.of(0.75, 0.25), tmp.resolve("expected-w")).sha256(),
                Checkpoint.weightsSha256(store.fetchFolder(weighted.getBlob())));
        assertNotEquals(baseSha, expected, "the adapters changed the weights");
        assertNotEquals(expected, Checkpoint.weightsSha256(store.fetchFolder(weighted.getBlob())));

        // an adapter of another base is refused, naming both members and both bases; the soup stays
        Path x = LoraMembers.adapter(other, tmp.resolve("x"), 13);
        SoupBuilder.Refused otherBase = (SoupBuilder.Refused) builder.onModelLanded(adapterLanded("x",
                store.putFolder(x, "sft/x"), store.putFolder(other, "bases/other"), otherSha, 3)).get(0);
        assertEquals("x", otherBase.modelId());
        String why = otherBase.error().getMessage();
        assertTrue(why.contains("different bases") && why.contains("a2") && why.contains(baseSha)
                && why.contains(otherSha), why);
        assertEquals(1, builder.current("lora").getVersion());

        // a full model of the same base id is refused too: one soup never mixes full models and adapters
        BlobRef f = store.putFolder(model(tmp.resolve("f"), TINY, 4), "test/f");
        SoupBuilder.Refused mixed = (SoupBuilder.Refused) builder.onModelLanded(landed("f", f, "tiny", 4)).get(0);
        assertEquals("f", mixed.modelId());
        assertTrue(mixed.error().getMessage().contains("mix LoRA adapters [a2] and full models [f]"),
                mixed.error().getMessage());
        assertEquals(1, builder.current("lora").getVersion());
        // an adapter announced without its base (by hand, not by salsa sft publish) is refused, naming it
        SoupBuilder.Refused noBase = (SoupBuilder.Refused) builder.onModelLanded(adapterLanded("nb",
                store.putFolder(a1, "sft/nb"), null, null, 5)).get(0);
        assertEquals("nb", noBase.modelId());
        assertTrue(noBase.error().getMessage().contains("without its base"), noBase.error().getMessage());
        assertInstanceOf(SoupBuilder.Unchanged.class, builder.evaluateAll().get(0));
    }

    @Test
    void weightedRecipesNormaliseTheirWeights() {
        SoupRecipe r = SoupRecipe.parse("name=w,base=tiny,members=x:3|y:1");
        assertEquals(SoupMethod.WEIGHTED, r.method());
        var chosen = r.select(java.util.Map.of(
                "x", landed("x", new BlobRef("u", "s", 1L), "tiny", 1),
                "y", landed("y", new BlobRef("u", "s", 1L), "tiny", 2)));
        assertEquals(java.util.Map.of("x", 0.75, "y", 0.25), r.normalisedWeights(chosen));
    }

    @Test
    void badRecipesNameTheProblem() {
        assertEquals("recipe 'name=x,base=b,kk=2': unknown key 'kk' (known: name, base, k, members)",
                assertThrows(IllegalArgumentException.class, () -> SoupRecipe.parse("name=x,base=b,kk=2")).getMessage());
        assertEquals("recipe x: k must be >= 1 when no members are listed (got 0)",
                assertThrows(IllegalArgumentException.class, () -> SoupRecipe.parse("name=x,base=b,k=0")).getMessage());
    }

    private static float[] read(Path folder, String tensor) throws IOException {
        try (SafeTensors st = SafeTensors.open(folder.resolve("model.safetensors"))) {
            return st.readFloats(tensor);
        }
    }
}
