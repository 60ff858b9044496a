package io.salsa.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.salsa.schemas.KafkaSettings;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoRunnerTest {

    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
    private final List<String> ran = new ArrayList<>();

    private DemoContext context(Path dir) {
        return new DemoContext(dir, DemoProfile.quick(), KafkaSettings.embedded("127.0.0.1:9", ""),
                new ServiceStack(), new PrintStream(printed, true, StandardCharsets.UTF_8));
    }

    private Stage stage(String name, boolean resumable, Map<String, String> outputs) {
        return new Stage() {
            public String name() {
                return name;
            }

            public String description() {
                return "test stage " + name;
            }

            public boolean resumable() {
                return resumable;
            }

            public Map<String, String> run(DemoContext ctx) {
                ran.add(name);
                return outputs;
            }
        };
    }

    private Stage failing(String name) {
        return new Stage() {
            public String name() {
                return name;
            }

            public String description() {
                return "fails";
            }

            public Map<String, String> run(DemoContext ctx) {
                ran.add(name);
                throw new IllegalStateException("no model at blob://x");
            }
        };
    }

    @Test
    void shouldResumeAfterTheLastFinishedStage(@TempDir Path dir) {
        StageMarkers markers = new StageMarkers(dir.resolve("stages"));
        List<DemoRunner.StageResult> first = new DemoRunner(context(dir), markers).run(List.of(
                stage("pretrain", true, Map.of("sha256", "abc")), failing("sft")));
        assertEquals(List.of(DemoRunner.Status.RAN, DemoRunner.Status.FAILED),
                first.stream().map(DemoRunner.StageResult::status).toList());
        assertTrue(first.get(1).error().contains("no model at blob://x"));

        ran.clear();
        DemoContext again = context(dir);
        Stage sft = new Stage() {
            public String name() {
                return "sft";
            }

            public String description() {
                return "uses the earlier output";
            }

            public Map<String, String> run(DemoContext ctx) {
                ran.add("sft");
                return Map.of("base", ctx.output("pretrain", "sha256"));
            }
        };
        List<DemoRunner.StageResult> second = new DemoRunner(again, markers).run(List.of(
                stage("pretrain", true, Map.of("sha256", "other")), stage("services", false, Map.of()), sft));
        assertEquals(List.of("services", "sft"), ran, "pretrain was skipped, the service stage always runs");
        assertEquals(DemoRunner.Status.DONE_EARLIER, second.get(0).status());
        assertEquals("abc", second.get(2).outputs().get("base"));
    }

    @Test
    void shouldNotRunStagesAfterAFailure(@TempDir Path dir) {
        List<DemoRunner.StageResult> r = new DemoRunner(context(dir), new StageMarkers(dir.resolve("stages")))
                .run(List.of(failing("a"), stage("b", true, Map.of())));
        assertEquals(List.of("a"), ran);
        assertEquals(DemoRunner.Status.NOT_RUN, r.get(1).status());
        assertFalse(Files.exists(dir.resolve("stages/a.json")), "a failed stage leaves no marker");
    }

    @Test
    void shouldStopWhenAsked(@TempDir Path dir) {
        DemoContext ctx = context(dir);
        ctx.requestStop();
        List<DemoRunner.StageResult> r = new DemoRunner(ctx, new StageMarkers(dir.resolve("stages")))
                .run(List.of(stage("a", true, Map.of())));
        assertEquals(DemoRunner.Status.STOPPED, r.get(0).status());
        assertTrue(ran.isEmpty());
    }

    @Test
    void shouldCloseServicesNewestFirst() {
        List<String> closed = new ArrayList<>();
        ServiceStack s = new ServiceStack();
        s.push("broker", () -> closed.add("broker"));
        s.push("scorer", () -> closed.add("scorer"));
        s.push("learner", () -> {
            closed.add("learner");
            throw new IllegalStateException("boom");
        });
        s.close();
        s.close();
        assertEquals(List.of("learner", "scorer", "broker"), closed);
        assertThrows(IllegalStateException.class, () -> s.push("late", () -> closed.add("late")));
        assertEquals("late", closed.get(3), "a service started after the stop is closed at once");
    }

    @Test
    void shouldWipeOnlyTheDemosOwnFolders(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("kafka/x"));
        Files.writeString(dir.resolve("kafka/x/f"), "1");
        Files.createDirectories(dir.resolve("stages"));
        DemoCommand.wipe(dir);
        assertFalse(Files.exists(dir.resolve("kafka")));
        Files.writeString(dir.resolve("thesis.tex"), "precious");
        Files.createDirectories(dir.resolve("run"));
        assertThrows(IllegalArgumentException.class, () -> DemoCommand.wipe(dir));
        assertTrue(Files.exists(dir.resolve("run")));
    }

    @Test
    void shouldPrintRateAndEta() {
        long[] now = {0};
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Progress p = new Progress("sft-1", 40, "steps", new PrintStream(buf, true, StandardCharsets.UTF_8),
                () -> now[0], 1_000_000_000L);
        now[0] = 4_000_000_000L;
        p.advance(10);
        // 10 steps in 4 s = 2.5/s; 30 left → 12 s
        assertEquals("[sft-1] 10/40 steps (25%), 2.50 steps/s, ETA 12s\n", buf.toString(StandardCharsets.UTF_8));
        assertEquals("2m05s", Progress.duration(125));
    }
}
