package io.salsa.soup.builder;

import io.salsa.core.cli.SalsaSubcommand;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code salsa soup-builder}: keeps each recipe's soup current as SFT models land, until Ctrl-C. */
@Command(name = "soup-builder", mixinStandardHelpOptions = true,
        description = "Build and publish model soups from landed SFT models (sft-models -> soup topic).")
public final class SoupBuilderCommand implements Callable<Integer>, SalsaSubcommand {

    @Option(names = "--recipe", required = true, description = "A recipe: name=NAME,base=BASE,k=K or "
            + "name=NAME,base=BASE,members=ID[:WEIGHT]|ID[:WEIGHT]… (repeatable).")
    List<String> recipes = new ArrayList<>();

    @Option(names = "--work-dir", defaultValue = "salsa-data/soup-work",
            description = "Scratch folder for soups being built (default: ${DEFAULT-VALUE}).")
    Path workDir;

    @Mixin
    ServiceOptions service;

    @Override
    public Integer call() throws Exception {
        List<SoupRecipe> parsed = new ArrayList<>();
        try {
            for (String r : recipes) {
                parsed.add(SoupRecipe.parse(r));
            }
            var kafka = service.kafka(System.getenv());
            var store = service.store(System.getenv());
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch done = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                stop.set(true);
                try {
                    done.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "soup-builder-shutdown"));
            try (SoupBuilderApp app = new SoupBuilderApp(kafka, parsed, store, workDir)) {
                app.run(stop::get);
            } finally {
                done.countDown();
            }
            return 0;
        } catch (IllegalArgumentException e) {
            System.err.println("salsa soup-builder: " + e.getMessage());
            return 2;
        }
    }
}
