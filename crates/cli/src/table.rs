//! The look of every table the CLI prints (`status`, `campaign list`, the schedules): borderless columns under a
//! header, like `kubectl get`, so that `grep`, `awk` and eyes all read them. Built on comfy-table, which measures
//! cells in display width (a name with accents or CJK stays aligned) and never wraps when stdout is not a terminal.

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};

/// A table with `header`; the columns named in `numeric` are right-aligned.
pub(crate) fn new(header: &[&str], numeric: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING).set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(header.iter().map(Cell::new));
    for (index, name) in header.iter().enumerate() {
        if numeric.contains(name) {
            if let Some(column) = table.column_mut(index) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    table
}

/// The table's lines without the padding comfy-table puts before the first column and after the last.
pub(crate) fn render(table: &Table) -> String {
    table
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(&line).trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_align_by_display_width_and_numbers_to_the_right() {
        let mut table = super::new(&["account", "queued", "state"], &["queued"]);
        table.add_row(vec!["café", "7", "ok"]);
        table.add_row(vec!["moderation", "12345", "PARKED"]);
        let text = super::render(&table);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("account"), "{text}");
        // Every row's columns start at the same display column: "state" and the states line up.
        let at = |line: &str, word: &str| line.find(word).map(|byte| line[..byte].chars().count());
        assert_eq!(at(lines[0], "state"), at(lines[1], "ok"), "{text}");
        assert_eq!(at(lines[0], "state"), at(lines[2], "PARKED"), "{text}");
        // Numbers end where the header ends.
        let end = |line: &str, word: &str| at(line, word).map(|c| c + word.len());
        assert_eq!(end(lines[1], "7"), end(lines[2], "12345"), "{text}");
        assert!(lines.iter().all(|l| !l.ends_with(' ')), "{text:?}");
    }
}
