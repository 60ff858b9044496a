package io.salsa.cli.demo;

import java.util.ArrayList;
import java.util.List;

/** The demo's chain of stages, in order; each stage is the production service or command, run in-process. */
public final class DemoStages {

    private DemoStages() {
    }

    /** The stages of a demo of {@code profile}. */
    public static List<Stage> chain(DemoProfile profile) {
        List<Stage> stages = new ArrayList<>();
        stages.add(new TaskStage());
        return stages;
    }
}
