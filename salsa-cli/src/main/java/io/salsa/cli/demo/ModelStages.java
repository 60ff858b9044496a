package io.salsa.cli.demo;

import ai.djl.Device;
import io.salsa.model.lm.CausalLm;
import io.salsa.model.lm.CausalLms;
import io.salsa.model.lm.GptModel;
import io.salsa.model.soup.Soups;
import io.salsa.model.train.SftTrainer;
import io.salsa.runtime.blob.Sha256;
import io.salsa.runtime.io.FileOps;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The demo's model-building stages: pretrain the base, fine-tune K SFT models, average them into the soup. */
final class ModelStages {

    private ModelStages() {
    }

    static Path models(DemoContext ctx) {
        return ctx.dir().resolve("models");
    }

    static Path base(DemoContext ctx) {
        return models(ctx).resolve("base");
    }

    static Path sft(DemoContext ctx, int k) {
        return models(ctx).resolve("sft-" + k);
    }

    static Path soup(DemoContext ctx) {
        return models(ctx).resolve("soup-k" + ctx.profile().sftModels());
    }

    /** Pretrains the tiny base of the run's architecture ({@code --model}) on the task corpus. */
    static Stage pretrain() {
        return new Simple("pretrain", "pretrain the tiny base model (--model: GPT-2 or Llama-style) on the task "
                + "corpus", ctx -> {
            Path out = base(ctx);
            FileOps.deleteTree(out); // an earlier attempt that did not finish
            SftTrainer.Result r = ModelRecipes.pretrain(TaskStage.dir(ctx), out, ModelRecipes.baseShape(ctx.model()),
                    ctx.profile().pretrainEpochs(), 0, Device.cpu(), line -> ctx.out().println("   " + line));
            Map<String, String> o = outputs(out, r);
            try (CausalLm m = CausalLms.load(out, GptModel.Head.NONE, Device.cpu())) {
                o.put("model_type", m.modelType());
                o.put("parameters", String.valueOf(m.parameterCount()));
            }
            return o;
        });
    }

    /** Fine-tunes SFT model {@code k} (seed k) from the base. */
    static Stage sft(int k) {
        return new Simple("sft-" + k, "fine-tune SFT model " + k + " from the base (seed " + k + ")", ctx -> {
            Path out = sft(ctx, k);
            FileOps.deleteTree(out);
            SftTrainer.Result r = ModelRecipes.sft(TaskStage.dir(ctx), base(ctx), k, out, ctx.profile().sftEpochs(),
                    0, Device.cpu(), line -> ctx.out().println("   " + line));
            return outputs(out, r);
        });
    }

    /** Averages the K SFT models into the uniform soup (the SALSA reference and initial policy). */
    static Stage soup() {
        return new Simple("soup", "average the SFT models into the uniform soup", ctx -> {
            Path out = soup(ctx);
            FileOps.deleteTree(out);
            List<Path> members = new ArrayList<>();
            for (int k = 1; k <= ctx.profile().sftModels(); k++) {
                members.add(sft(ctx, k));
            }
            Soups.Result r = ModelRecipes.soup(members, out);
            Map<String, String> o = new LinkedHashMap<>();
            o.put("dir", out.toString());
            o.put("sha256", r.sha256());
            o.put("members", String.valueOf(r.members().size()));
            return o;
        });
    }

    private static Map<String, String> outputs(Path dir, SftTrainer.Result r) throws java.io.IOException {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("dir", dir.toString());
        o.put("sha256", Sha256.of(dir.resolve("model.safetensors")));
        o.put("steps", String.valueOf(r.steps()));
        o.put("final_eval_loss", String.format(Locale.ROOT, "%.4f", r.finalEvalLoss()));
        return o;
    }

    /** The body of a stage. */
    @FunctionalInterface
    interface Body {
        Map<String, String> run(DemoContext ctx) throws Exception;
    }

    /** A resumable stage made of a name, a description and a body. */
    record Simple(String name, String description, Body body) implements Stage {
        @Override
        public Map<String, String> run(DemoContext ctx) throws Exception {
            return body.run(ctx);
        }
    }
}
