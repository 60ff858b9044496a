package io.salsa.model.train;

import io.salsa.model.lm.DeviceOptions;
import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.model.lm.lora.LoraSpec;
import io.salsa.runtime.cli.SalsaCommand;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code salsa sft train}: fine-tunes a base model on prompt/response JSONL into a new model folder. */
@Command(name = "train", mixinStandardHelpOptions = true, modelTransformer = TrainingOptions.Install.class,
        description = {"Supervised fine-tuning: loss on response tokens only, AdamW with warm-up and linear decay,",
                "gradient clipping. Writes model.safetensors, config.json, tokenizer.json and card.json into --out."})
public final class SftTrainCommand extends SalsaCommand {

    public SftTrainCommand() {
        super("sft", "Supervised fine-tuning of language models.");
    }

    @Option(names = "--data", required = true, paramLabel = "FILE.jsonl",
            description = "Training data: one {\"prompt\": …, \"response\": …} object per line, or a conversation"
                    + " {\"messages\": [{\"role\": …, \"content\": …}, …]} (rendered with the base's chat template;"
                    + " loss on assistant turns only).")
    Path data;

    @Option(names = "--eval", paramLabel = "FILE.jsonl",
            description = "Eval data (default: a fixed 1/20 of --data is held out).")
    Path eval;

    @Option(names = "--base", required = true, paramLabel = "DIR", description = "Base model folder (config.json, model.safetensors, tokenizer.json).")
    Path base;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json to use instead of the base folder's.")
    Path tokenizer;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output model folder (must not hold a model yet).")
    Path out;

    @Option(names = "--seed", required = true, description = "Seed of the data order; same seed + data + base → identical weights.")
    long seed;

    final TrainingOptions training = TrainingOptions.epochs(3, "Passes over the data")
            .lr("5e-4", "Peak learning rate")
            .batchSize(16, "Sequences per step")
            .warmup("--warmup", "<warmup>", 20, "Linear warm-up steps")
            .maxSteps("Stop after this many steps; 0 = run all epochs")
            .maxGradNorm("1.0", "Gradient-norm clip; 0 = off")
            .weightDecay("0.0", "AdamW decay of weight matrices")
            .build();

    @Option(names = "--lora", paramLabel = "SPEC",
            description = "Train a LoRA adapter instead of the whole model: r=N,alpha=A,targets=M1,M2[,dropout=P][,rslora]"
                    + " (targets as PEFT names them: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj for Llama;"
                    + " c_attn,c_proj,c_fc for GPT-2; alpha defaults to r). The base stays frozen; --out gets a PEFT"
                    + " adapter folder (adapter_config.json naming the base, adapter_model.safetensors), the tokenizer"
                    + " and card.json, not a full model.")
    String lora;

    @Mixin
    DeviceOptions deviceOptions = new DeviceOptions();

    @Override
    public Integer call() {
        try {
            SftConfig cfg = training.sftConfig(seed, 1.0, 0.0);
            LoraConfig loraConfig = lora == null ? null : LoraSpec.parse(lora);
            SftRun.Request req = new SftRun.Request(data, eval, base, tokenizer, out, cfg, deviceOptions.apply(),
                    loraConfig);
            SftTrainer.Result r = SftRun.run(req, System.err::println);
            System.out.printf(Locale.ROOT, "wrote %s%s: %d steps, final eval loss %.4f, %.0f tokens/s%n",
                    out, lora == null ? "" : " (LoRA adapter)", r.steps(), r.finalEvalLoss(), r.tokensPerSecond());
            return 0;
        } catch (IOException | IllegalArgumentException | IllegalStateException | java.io.UncheckedIOException e) {
            return refuse(e);
        }
    }
}
