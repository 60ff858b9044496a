package io.salsa.cli.demo;

import io.salsa.task.TaskConfig;
import io.salsa.task.TaskDataset;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes the built-in task (world, splits, pretraining corpus, tokenizer) that every later stage trains on. */
final class TaskStage implements Stage {

    static final String NAME = "task";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "generate the built-in task (world, train/eval/ood splits, corpus, tokenizer)";
    }

    /** The task folder of a demo. */
    static Path dir(DemoContext ctx) {
        return ctx.dir().resolve("models").resolve("task");
    }

    /** The task itself, rebuilt in memory from the profile (deterministic for its seed). */
    static TaskDataset dataset(DemoProfile profile) {
        return TaskDataset.generate(TaskConfig.defaults(profile.taskSeed(), profile.entities()));
    }

    @Override
    public Map<String, String> run(DemoContext ctx) throws Exception {
        Map<String, Integer> counts = dataset(ctx.profile()).writeTo(dir(ctx));
        Map<String, String> out = new LinkedHashMap<>();
        out.put("dir", dir(ctx).toString());
        counts.forEach((file, n) -> out.put(file, String.valueOf(n)));
        return out;
    }
}
