//! The `[[schedules]]` part of `deleteq status`: each schedule with its next fire time, computed from the config
//! alone (the JSON form is `deleteq_ops::report::schedules_json`, shared with `GET /v1/status`).

use deleteq_core::Config;

/// Prints the schedules as a short table after the rest of `status`; nothing when there are none.
pub(crate) fn print_table(config: &Config) {
    let rows = deleteq_ops::report::schedules_json(config);
    let Some(rows) = rows.as_array().filter(|r| !r.is_empty()) else {
        return;
    };
    let mut table = crate::table::new(&["schedule", "next fire (UTC)", "cron", "timezone"], &[]);
    for row in rows {
        let text = |field: &str| row[field].as_str().unwrap_or("-").to_string();
        table.add_row(vec![text("name"), text("next_fire"), text("cron"), text("timezone")]);
    }
    println!();
    println!("{}", crate::table::render(&table));
}
