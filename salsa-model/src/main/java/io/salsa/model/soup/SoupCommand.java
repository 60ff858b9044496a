package io.salsa.model.soup;

import io.salsa.model.lm.lora.LoraConfig;
import io.salsa.runtime.cli.SalsaCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code salsa soup}: averages fine-tuned checkpoints into the soup SALSA uses as its KL reference. */
@Command(name = "soup", mixinStandardHelpOptions = true,
        description = "Average K >= 2 checkpoints of one architecture (GPT-2 or the Llama family; single-file or "
                + "sharded, F32/F16/BF16) into a model soup (uniform unless weights are given; weights are "
                + "normalised). Streams tensor by tensor, averaging in float32; writes the soup in the members' shared dtype "
                + "(see --dtype), sharded like the first member, with the first member's config and tokenizer and "
                + "card.json (members, sha256s, weights). Members may instead all be LoRA adapter "
                + "folders of one base (see --base): the soup is then the mean of the merged models.")
public final class SoupCommand extends SalsaCommand {

    @Option(names = "--member", required = true, paramLabel = "DIR[=WEIGHT]",
            description = "A checkpoint folder (config.json + model.safetensors or model.safetensors.index.json "
                    + "with its shards), optionally with a weight; repeat for every member.")
    List<String> members = new ArrayList<>();

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for the soup.")
    Path out;

    @Option(names = "--base", paramLabel = "DIR",
            description = "For LoRA adapter members (folders with adapter_config.json): the base model folder they were"
                    + " trained on (default: the adapters' base_model_name_or_path). Each member's ΔW = s·B·A is merged"
                    + " into the base and the merged weights are averaged uniformly; a member trained on another base"
                    + " (by path or by the base sha256 it records) is refused.")
    Path base;

    @Option(names = "--dtype", paramLabel = "auto|float32|bfloat16|float16", defaultValue = "auto",
            description = "Storage dtype of the soup (the average is float32, rounded once to nearest even): auto = "
                    + "the members' dtype when all their tensors share one (F32, BF16 or F16), else float32 "
                    + "(default: ${DEFAULT-VALUE}). config.json's torch_dtype/dtype say what was written.")
    String dtype;

    @Option(names = "--no-hash", description = "Skip the sha256 of members and soup in card.json (faster for huge models).")
    boolean noHash;

    @Override
    public Integer call() {
        List<Soups.Member> parsed = new ArrayList<>();
        try {
            for (String m : members) {
                parsed.add(Soups.Member.parse(m));
            }
        } catch (IllegalArgumentException e) {
            return refuse("--member " + e.getMessage());
        }
        SoupConfig.OutputDtype outDtype;
        try {
            outDtype = SoupConfig.OutputDtype.parse(dtype);
        } catch (IllegalArgumentException e) {
            return refuse(e.getMessage());
        }
        if (parsed.size() < 2) {
            return refuse("a soup needs at least 2 --member folders, got " + parsed.size());
        }
        long adapters = parsed.stream().filter(m -> isAdapter(m.dir())).count();
        if (adapters == 0 && base != null) {
            return refuse("--base is only for LoRA adapter members; " + parsed.get(0).dir() + " is a full model");
        }
        try {
            if (adapters > 0) {
                if (outDtype != SoupConfig.OutputDtype.AUTO && outDtype != SoupConfig.OutputDtype.FLOAT32) {
                    return refuse("--dtype " + dtype + " is not supported for LoRA adapter members (their soup is float32)");
                }
                loraSoup(parsed, adapters);
                return 0;
            }
            SoupConfig config = new SoupConfig(SoupConfig.defaults().chunkElements(), !noHash, true, outDtype);
            Soups.Result r = Soups.build(parsed, out, config);
            System.out.printf("soup (%s) of %d members -> %s (%s)%n", r.method(), r.members().size(), out.toAbsolutePath(),
                    SoupConfig.OutputDtype.torchName(r.dtype()));
            for (Soups.Member m : r.members()) {
                System.out.printf("  %.6f  %s%n", m.weight(), m.dir());
            }
            System.out.printf("%d tensors, %d parameters, %.1f MB read in %d ms%s%n", r.tensors(), r.parameters(),
                    r.bytesRead() / 1e6, r.averagingNanos() / 1_000_000, r.sha256().isEmpty() ? "" : ", sha256 " + r.sha256());
            return 0;
        } catch (NoSuchFileException e) {
            return refuse(e.getFile() + (e.getReason() == null ? ": not found" : ": " + e.getReason()));
        } catch (SoupException | io.salsa.model.safetensors.SafeTensorsException e) {
            return refuse(e.getMessage());
        } catch (IOException e) {
            System.err.println("salsa soup: " + e);
            return 1;
        }
    }

    private static boolean isAdapter(Path dir) {
        return Files.isRegularFile(dir.resolve(LoraConfig.FILE));
    }

    /** Every member a LoRA adapter: merge each into the base and average ({@link LoraSoups}). */
    private void loraSoup(List<Soups.Member> parsed, long adapters) throws IOException {
        for (Soups.Member m : parsed) {
            if (!isAdapter(m.dir())) {
                throw new SoupException("member " + m.dir() + " is a full model but " + adapters + " other member(s) are "
                        + "LoRA adapters; a soup takes either full models or LoRA adapters of one base");
            }
            if (m.weight() != 1.0) {
                throw new SoupException("--member " + m.dir() + "=" + m.weight() + ": LoRA soups are uniform; weights "
                        + "are not supported for adapters");
            }
        }
        List<Path> dirs = parsed.stream().map(Soups.Member::dir).toList();
        Path baseDir = base;
        if (baseDir == null) {
            String named = LoraConfig.read(dirs.get(0)).baseModel();
            if (named == null || !Files.isDirectory(Path.of(named))) {
                throw new SoupException("member " + dirs.get(0) + " names base " + (named == null
                        ? "null (base_model_name_or_path)" : "'" + named + "', which is not a folder here") + "; pass --base DIR");
            }
            baseDir = Path.of(named);
        }
        LoraSoups.Result r = LoraSoups.build(baseDir, dirs, out);
        System.out.printf("LoRA soup (merge each adapter into %s, then average) of %d members -> %s%n", baseDir,
                r.members(), out.toAbsolutePath());
        dirs.forEach(d -> System.out.printf("  %.6f  %s%n", 1.0 / dirs.size(), d));
        System.out.printf("%d tensors merged, sha256 %s%n", r.mergedTensors(), r.sha256());
    }
}
