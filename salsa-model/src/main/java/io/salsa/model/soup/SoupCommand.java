package io.salsa.model.soup;

import io.salsa.runtime.cli.SalsaCommand;
import java.io.IOException;
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
                + "normalised). Streams tensor by tensor; writes an F32 model.safetensors, the first member's config "
                + "and tokenizer, and card.json (members, sha256s, weights).")
public final class SoupCommand extends SalsaCommand {

    @Option(names = "--member", required = true, paramLabel = "DIR[=WEIGHT]",
            description = "A checkpoint folder (config.json + model.safetensors or model.safetensors.index.json "
                    + "with its shards), optionally with a weight; repeat for every member.")
    List<String> members = new ArrayList<>();

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for the soup.")
    Path out;

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
        if (parsed.size() < 2) {
            return refuse("a soup needs at least 2 --member folders, got " + parsed.size());
        }
        try {
            SoupConfig config = new SoupConfig(SoupConfig.defaults().chunkElements(), !noHash, true);
            Soups.Result r = Soups.build(parsed, out, config);
            System.out.printf("soup (%s) of %d members -> %s%n", r.method(), r.members().size(), out.toAbsolutePath());
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
}
