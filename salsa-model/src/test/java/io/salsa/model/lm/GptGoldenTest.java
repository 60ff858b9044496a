package io.salsa.model.lm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.salsa.model.GoldenFiles;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The DJL GPT-2 against Hugging Face transformers' outputs for the same random weights (shared/golden). */
class GptGoldenTest {

    private static final double TOL = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "small"})
    void shouldMatchHuggingFaceLogitsHiddenStatesAndLogProbs(String name) throws Exception {
        Path dir = GoldenFiles.require(name);
        GoldenBatch batch = GoldenBatch.read(dir);
        Npy ids = batch.ids();
        Npy mask = batch.mask();
        Npy logits = Npy.read(dir.resolve("logits.npy"));
        Npy hidden = batch.hidden();
        try (GptModel model = GptModel.load(dir, GptModel.Head.NONE, Device.cpu())) {
            long managedBefore = model.manager().getManagedArrays().size();
            NDManager scope = model.newScope();
            NDArray idArr = scope.create(ids.longRows());
            NDArray maskArr = scope.create(mask.longRows());
            GptOutput out = model.forward(idArr, maskArr, scope.create(batch.positions().longRows()), null, true);
            int b = (int) ids.shape()[0];
            int t = (int) ids.shape()[1];
            int v = model.config().vocabSize();
            int e = model.config().nEmbd();
            assertMaskedClose("logits", logits.floats(), out.logits().toFloatArray(), mask.longs(), v);
            List<NDArray> hs = out.hiddenStates();
            assertEquals(model.config().nLayer() + 1, hs.size());
            for (int l = 0; l < hs.size(); l++) {
                float[] ref = java.util.Arrays.copyOfRange(hidden.floats(), l * b * t * e, (l + 1) * b * t * e);
                assertMaskedClose("hidden_states[" + l + "]", ref, hs.get(l).toFloatArray(), mask.longs(), e);
            }
            batch.assertTokenLogProbs(name, GptModel.logProbsOfNext(out.logits(), idArr).toFloatArray());
            // positions derived from the mask give the same result on real tokens (right padding)
            float[] derived = model.forward(idArr, maskArr).logits().toFloatArray();
            assertMaskedClose("logits (derived positions)", logits.floats(), derived, mask.longs(), v);
            scope.close();
            assertEquals(managedBefore, model.manager().getManagedArrays().size(),
                    "closing the step scope releases everything the forward pass created");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "small"})
    void shouldMatchHuggingFaceLossAndGradients(String name) throws Exception {
        Path dir = GoldenFiles.require(name);
        JsonNode summary = new ObjectMapper().readTree(GoldenFiles.require("summary.json").toFile());
        double refLoss = summary.get("models").get(name).get("loss_mean_next_token_ce").asDouble();
        try (GptModel model = GptModel.load(dir, GptModel.Head.NONE, Device.cpu());
             NDManager scope = model.newScope()) {
            model.setTrainable(true);
            float loss = GoldenBatch.read(dir).backwardMeanLoss(model, scope);
            assertEquals(refLoss, loss, TOL, "mean next-token cross-entropy");
            assertGradClose("transformer.wte.weight", Npy.read(dir.resolve("grad_wte.npy")), model);
            assertGradClose("transformer.h.0.attn.c_attn.weight", Npy.read(dir.resolve("grad_c_attn0.npy")), model);
        }
    }

    private static void assertGradClose(String param, Npy ref, GptModel model) {
        GoldenAsserts.assertGradClose(param, model.parameters().get(param), ref);
    }

    private static void assertMaskedClose(String what, float[] expected, float[] actual, long[] mask, int width) {
        assertEquals(expected.length / mask.length, width, what + " width");
        GoldenAsserts.assertMaskedClose(what, expected, actual, mask);
    }
}
