package io.salsa.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A bench's results as rows of named columns: printed as an aligned table and written as CSV (the
 * {@code --output} file) from the same rows, so what a user reads and what a script reads cannot differ.
 */
public final class ResultTable {

    /** A column: text (left-aligned) or a number with fixed decimals (right-aligned) in {@code width} characters. */
    private record Column(String name, int width, int decimals, boolean text) { }

    private final String bench;
    private final List<Column> columns = new ArrayList<>();
    private final List<Object[]> rows = new ArrayList<>();

    /** An empty table of {@code salsa bench <bench>}; its name is the first CSV column of every row. */
    public ResultTable(String bench) {
        this.bench = bench;
    }

    /** A left-aligned text column. */
    public ResultTable text(String name, int width) {
        columns.add(new Column(name, width, 0, true));
        return this;
    }

    /** A right-aligned number column printed with {@code decimals} decimals (the CSV keeps full precision). */
    public ResultTable number(String name, int width, int decimals) {
        columns.add(new Column(name, width, decimals, false));
        return this;
    }

    /** Adds a row: one value per column, a {@code CharSequence} for text and a {@code Number} for numbers. */
    public ResultTable row(Object... values) {
        if (values.length != columns.size()) {
            throw new IllegalArgumentException(values.length + " values for " + columns.size() + " columns");
        }
        for (int i = 0; i < values.length; i++) {
            boolean ok = columns.get(i).text() ? values[i] instanceof CharSequence : values[i] instanceof Number;
            if (!ok) {
                throw new IllegalArgumentException("column " + columns.get(i).name() + ": " + values[i]);
            }
        }
        rows.add(values.clone());
        return this;
    }

    public int rows() {
        return rows.size();
    }

    /** Prints the header and the rows, columns separated by one space. */
    public void print(PrintStream out) {
        StringBuilder header = new StringBuilder();
        for (int i = 0; i < columns.size(); i++) {
            Column c = columns.get(i);
            header.append(i == 0 ? "" : " ").append(String.format(Locale.ROOT, "%" + (c.text() ? "-" : "")
                    + Math.max(1, c.width()) + "s", c.name()));
        }
        out.println(header.toString().stripTrailing());
        for (Object[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < columns.size(); i++) {
                Column c = columns.get(i);
                String format = c.text() ? "%-" + Math.max(1, c.width()) + "s"
                        : "%" + Math.max(1, c.width()) + "." + c.decimals() + "f";
                line.append(i == 0 ? "" : " ").append(String.format(Locale.ROOT, format, row[i]));
            }
            out.println(line.toString().stripTrailing());
        }
    }

    /** Writes {@code bench,<columns>} and one line per row to {@code file} (RFC 4180 quoting). */
    public void writeCsv(Path file) throws IOException {
        StringBuilder csv = new StringBuilder("bench");
        for (Column c : columns) {
            csv.append(',').append(quote(c.name()));
        }
        csv.append('\n');
        for (Object[] row : rows) {
            csv.append(quote(bench));
            for (Object value : row) {
                csv.append(',').append(value instanceof Number n ? number(n) : quote(value.toString()));
            }
            csv.append('\n');
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, csv, StandardCharsets.UTF_8);
    }

    private static String number(Number n) {
        return n instanceof Double || n instanceof Float ? Double.toString(n.doubleValue()) : n.toString();
    }

    private static String quote(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
            return s;
        }
        return '"' + s.replace("\"", "\"\"") + '"';
    }
}
