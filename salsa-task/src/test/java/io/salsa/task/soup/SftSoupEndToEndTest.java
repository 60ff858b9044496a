package io.salsa.task.soup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.salsa.model.lm.GptConfig;
import io.salsa.model.lm.GptModel;
import io.salsa.model.safetensors.SafeTensors;
import io.salsa.model.safetensors.TensorInfo;
import io.salsa.model.soup.Soups;
import io.salsa.model.tokenizer.SalsaTokenizer;
import io.salsa.model.train.SftConfig;
import io.salsa.model.train.SftData;
import io.salsa.model.train.SftRun;
import io.salsa.model.train.SftTrainer;
import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 3's end-to-end check of the model core: two SFT runs that differ only in their seed, from one tiny base on
 * the built-in task, souped uniformly; the soup is exactly their element-wise mean and a usable model.
 */
class SftSoupEndToEndTest {

    @TempDir
    Path tmp;

    @Test
    void shouldSoupTwoSeedsOfOneBaseIntoTheirExactMeanWithAFiniteEvalLoss() throws IOException {
        Path task = tmp.resolve("task");
        TaskDataset.generate(TaskConfig.defaults(5, 12)).writeTo(task);

        // a random tiny base over the task tokenizer's vocabulary: the soup only needs a shared starting point
        Path base = tmp.resolve("base");
        try (SalsaTokenizer tok = SalsaTokenizer.load(task)) {
            GptConfig cfg = GptConfig.of(1, 2, 32, tok.vocabSize(), 64, tok.eosId(), tok.padId());
            try (GptModel m = GptModel.random(cfg, GptModel.Head.NONE, 42, Device.cpu())) {
                m.save(base);
            }
            tok.saveTo(base);
        }

        Path a = sft(task, base, "sft-seed1", 1);
        Path b = sft(task, base, "sft-seed2", 2);
        Path soup = tmp.resolve("soup");
        Soups.Result result = Soups.build(List.of(Soups.Member.of(a), Soups.Member.of(b)), soup);
        assertEquals("uniform", result.method());

        try (SafeTensors sa = SafeTensors.open(a.resolve(Soups.MODEL_FILE));
             SafeTensors sb = SafeTensors.open(b.resolve(Soups.MODEL_FILE));
             SafeTensors ss = SafeTensors.open(soup.resolve(Soups.MODEL_FILE))) {
            assertEquals(sa.tensors().keySet(), sb.tensors().keySet());
            assertEquals(sa.tensors().keySet(), ss.tensors().keySet());
            assertEquals(sa.tensors().size(), result.tensors());
            // Soups' arithmetic: w = (float) (1.0 / 2), s = w·a, then s += w·b, all in float32
            float w = (float) (1.0 / 2);
            long differing = 0;
            for (TensorInfo t : sa.tensors().values()) {
                float[] x = sa.readFloats(t.name());
                float[] y = sb.readFloats(t.name());
                float[] s = ss.readFloats(t.name());
                assertTrue(Arrays.equals(t.shape(), ss.info(t.name()).shape()), t.name() + " shape");
                assertEquals(x.length, s.length, t.name());
                for (int i = 0; i < x.length; i++) {
                    float expected = w * x[i];
                    expected += w * y[i];
                    if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(s[i])) {
                        throw new AssertionError(t.name() + "[" + i + "]: soup " + s[i] + " but mean of " + x[i]
                                + " and " + y[i] + " is " + expected);
                    }
                    if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
                        differing++;
                    }
                }
            }
            assertTrue(differing > 0, "seeds 1 and 2 saw the data in other orders, so their weights must differ");
        }

        try (SalsaTokenizer tok = SalsaTokenizer.load(soup);
             GptModel model = GptModel.load(soup, GptModel.Head.NONE, Device.cpu())) {
            List<SftData.Sequence> eval = SftData.encodeAll(tok, SftData.read(task.resolve("sft-eval.jsonl")),
                    model.config().nPositions());
            assertFalse(eval.isEmpty());
            double loss = SftTrainer.evalLoss(model, eval, 8);
            assertTrue(Double.isFinite(loss) && loss > 0, "soup eval loss " + loss);
        }
    }

    /** Fine-tunes {@code base} on the task's train split exactly as {@code salsa sft train} does. */
    private Path sft(Path task, Path base, String name, long seed) throws IOException {
        Path out = tmp.resolve(name);
        SftRun.Request req = new SftRun.Request(task.resolve("sft-train.jsonl"), task.resolve("sft-eval.jsonl"), base,
                null, out, new SftConfig(1, 5e-3, 4, 1, 6, 1.0, 0.0, seed), Device.cpu());
        SftTrainer.Result r = SftRun.run(req, line -> { });
        assertEquals(6, r.steps(), name);
        assertTrue(Double.isFinite(r.finalEvalLoss()), name + " eval loss " + r.finalEvalLoss());
        return out;
    }
}
