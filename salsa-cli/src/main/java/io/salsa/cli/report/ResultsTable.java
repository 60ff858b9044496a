package io.salsa.cli.report;

import java.util.List;
import java.util.Objects;

/**
 * A table of results the report shows as-is (already formatted cells), so the experiment decides what to
 * compare and the report only lays it out.
 *
 * @param title   caption of the table
 * @param columns column headers
 * @param rows    cells, one list per row, as many cells as columns
 * @param notes   sentences shown under the table (how to read it, what the test was)
 */
public record ResultsTable(String title, List<String> columns, List<List<String>> rows, List<String> notes) {

    public ResultsTable {
        Objects.requireNonNull(title, "title");
        columns = List.copyOf(columns);
        rows = rows.stream().map(List::copyOf).toList();
        notes = List.copyOf(notes);
        for (int i = 0; i < rows.size(); i++) {
            if (rows.get(i).size() != columns.size()) {
                throw new IllegalArgumentException("table '" + title + "' row " + (i + 1) + " has "
                        + rows.get(i).size() + " cells, expected " + columns.size());
            }
        }
    }
}
