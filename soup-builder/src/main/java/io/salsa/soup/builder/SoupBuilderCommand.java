package io.salsa.soup.builder;

import io.salsa.runtime.cli.EnvDefaults;
import io.salsa.runtime.cli.SalsaCommand;
import io.salsa.runtime.cli.ServiceOptions;
import io.salsa.runtime.service.ServiceRunner;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code salsa soup-builder}: keeps each recipe's soup current as SFT models land, until Ctrl-C. */
@Command(name = "soup-builder", mixinStandardHelpOptions = true, defaultValueProvider = EnvDefaults.class,
        description = {"Build and publish model soups from landed SFT models (sft-models -> soup topic).",
                "Every option can also be given as the environment variable shown; flags win. Metrics and health on "
                        + "--metrics-port (default " + SoupBuilderCommand.METRICS_PORT + ")."})
public final class SoupBuilderCommand extends SalsaCommand {

    /** The soup builder's default probe port (/metrics, /healthz, /readyz). */
    public static final int METRICS_PORT = 9402;

    @Option(names = "--recipe", required = true, split = ";", description = "A recipe: name=NAME,base=BASE,k=K or "
            + "name=NAME,base=BASE,members=ID[:WEIGHT]|ID[:WEIGHT]… (repeatable, or several separated by ';'; "
            + "$SALSA_SOUP_RECIPES).")
    List<String> recipes = new ArrayList<>();

    @Option(names = "--work-dir", defaultValue = "salsa-data/soup-work",
            description = "Scratch folder for soups being built ($SALSA_SOUP_WORK_DIR; default: ${DEFAULT-VALUE}).")
    Path workDir;

    @Mixin
    ServiceOptions service = new ServiceOptions();

    @Override
    public Integer call() throws Exception {
        List<SoupRecipe> parsed = new ArrayList<>();
        try {
            for (String r : recipes) {
                parsed.add(SoupRecipe.parse(r));
            }
            int metricsPort = service.metricsPort(System.getenv(), METRICS_PORT);
            var kafka = service.kafka(System.getenv());
            var store = service.store(System.getenv());
            ServiceRunner.runUntilStopped(new SoupBuilderApp(kafka, parsed, store, workDir), metricsPort);
            return 0;
        } catch (IllegalArgumentException e) {
            return refuse(e.getMessage());
        }
    }
}
