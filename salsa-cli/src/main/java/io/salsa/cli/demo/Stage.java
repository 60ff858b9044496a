package io.salsa.cli.demo;

import java.util.Map;

/** One step of the demo's chain (pretrain, SFT, soup, preferences, reward model, SALSA loop, report). */
public interface Stage {

    /** Short name, used in progress lines and as the marker file name. */
    String name();

    /** One line saying what the stage does, printed when it starts. */
    String description();

    /**
     * True for stages whose result is durable (a model in the blob store, records on a topic): once finished they
     * are skipped on resume. False for stages that start long-running services, which must start every time.
     */
    default boolean resumable() {
        return true;
    }

    /**
     * Runs the stage and returns what it produced (model URIs, sha256, counts) for later stages and the report.
     *
     * @throws Exception on failure; the runner reports it with the stage name and stops the chain
     */
    Map<String, String> run(DemoContext ctx) throws Exception;
}
