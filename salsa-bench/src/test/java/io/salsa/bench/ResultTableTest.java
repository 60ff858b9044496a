package io.salsa.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResultTableTest {

    private static ResultTable modelTable() {
        return new ResultTable("model").text("measurement", 34).number("tokens/s", 12, 1).number("seconds", 12, 3)
                .row("generate, KV cache", 424.04, 1.2075).row("forward only (scoring)", 7420.0, 0.25);
    }

    @Test
    void shouldPrintTheAlignedTableTheModelBenchAlwaysPrinted() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        modelTable().print(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        List<String> expected = List.of(
                String.format(Locale.ROOT, "%-34s %12s %12s", "measurement", "tokens/s", "seconds"),
                String.format(Locale.ROOT, "%-34s %12.1f %12.3f", "generate, KV cache", 424.04, 1.2075),
                String.format(Locale.ROOT, "%-34s %12.1f %12.3f", "forward only (scoring)", 7420.0, 0.25));
        assertEquals(expected, bytes.toString(StandardCharsets.UTF_8).lines().toList());
    }

    @Test
    void shouldWriteCsvWithTheBenchNameAndQuotedText(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("model.csv");
        modelTable().writeCsv(file);
        assertEquals(List.of("bench,measurement,tokens/s,seconds", "model,\"generate, KV cache\",424.04,1.2075",
                "model,forward only (scoring),7420.0,0.25"), Files.readAllLines(file));
    }

    @Test
    void shouldRefuseARowThatDoesNotFitTheColumns() {
        ResultTable t = new ResultTable("x").text("name", 4).number("n", 4, 0);
        assertThrows(IllegalArgumentException.class, () -> t.row("a"));
        assertThrows(IllegalArgumentException.class, () -> t.row(1, "a"));
        assertEquals(0, t.rows());
    }
}
