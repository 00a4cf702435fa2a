//! `deleteq status [--json]`: queue depths, and per account its queued, leased, scheduled, parked and dead jobs,
//! effective rate, slow-down, the provider's reported budget, parking, circuit, and outcome counts over the latest
//! 10,000 audit records.

use crate::exit::Failure;
use crate::table;
use deleteq_core::Config;

pub(crate) async fn run(config: Config, json: bool) -> Result<(), Failure> {
    let value = super::connect(&config).await?.status_json().await?;
    if json {
        println!("{value}");
        return Ok(());
    }
    let lanes = |v: &serde_json::Value| {
        let n = |lane: &str| v[lane].as_u64().unwrap_or(0);
        format!("{}/{}/{}", n("high"), n("normal"), n("low"))
    };
    println!("queued     {} (high/normal/low {})", value["queued"], lanes(&value["lanes"]));
    println!("leased     {}", value["leased"]);
    println!("scheduled  {}", value["scheduled"]);
    println!("dead       {}", value["dead"]);
    println!("jobs       {} (unfinished)", value["jobs"]);
    println!("audit      {} records", value["audit_records"]);
    let no_accounts = serde_json::Map::new();
    let accounts = value["accounts"].as_object().unwrap_or(&no_accounts);
    if !accounts.is_empty() {
        let mut table = table::new(
            &[
                "account",
                "provider",
                "queued",
                "high/normal/low",
                "leased",
                "scheduled",
                "dead",
                "rate/s",
                "state",
                "recent outcomes",
            ],
            &["queued", "high/normal/low", "leased", "scheduled", "dead", "rate/s"],
        );
        for (name, a) in accounts {
            let rate = a["rate_per_s"].as_f64().map(|r| format!("{r:.1}")).unwrap_or_else(|| "unlimited".into());
            let state = match a["parked"].as_object() {
                Some(p) => format!("PARKED ({} jobs): {}", a["parked_jobs"], p["reason"].as_str().unwrap_or("")),
                None => limiter_state(a),
            };
            let recent: Vec<String> = a["recent"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            let count = |field: &str| a[field].as_u64().unwrap_or(0).to_string();
            table.add_row(vec![
                name.clone(),
                a["provider"].as_str().unwrap_or("").to_string(),
                count("queued"),
                lanes(&a["lanes"]),
                count("leased"),
                count("scheduled"),
                count("dead"),
                rate,
                // A provider's parked reason can be a paragraph: the table shows its start, `--json` all of it.
                truncate(&state, STATE_WIDTH),
                recent.join(" "),
            ]);
        }
        println!();
        println!("{}", table::render(&table));
    }
    super::schedules::print_table(&config);
    Ok(())
}

/// The width of the state column; longer states end in an ellipsis.
const STATE_WIDTH: usize = 40;

/// `text` on one line and at most `width` characters, the last an ellipsis if any was cut.
fn truncate(text: &str, width: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= width {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// "ok", or what holds an account below its configured rate: 429 slow-downs and the provider's reported budget
/// (`provider 12/50 left, reset in 400 ms of 100/s`).
fn limiter_state(a: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    if a["slow_down"].as_f64().unwrap_or(1.0) > 1.0 {
        parts.push(format!("slowed down {}x after 429s", a["slow_down"]));
    }
    if let Some(b) = a["provider_budget"].as_object() {
        let limit = b.get("limit").and_then(|l| l.as_u64()).map(|l| format!("/{l}")).unwrap_or_default();
        let remaining = b.get("remaining").and_then(|r| r.as_u64()).unwrap_or(0);
        let reset = b.get("reset_ms").and_then(|r| r.as_u64()).unwrap_or(0);
        let configured = a["configured_rate_per_s"].as_f64().map(|r| format!(" of {r:.1}/s")).unwrap_or_default();
        parts.push(match reset {
            0 => format!("provider {remaining}{limit} left, window since reset"),
            ms => format!("provider {remaining}{limit} left, reset in {ms} ms{configured}"),
        });
    }
    if parts.is_empty() {
        "ok".into()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn long_states_are_cut_to_the_column_with_an_ellipsis() {
        assert_eq!(truncate("ok", 40), "ok");
        let long = format!("PARKED (3 jobs): {}", "the provider said the key was revoked\n ".repeat(5));
        let cut = truncate(&long, 40);
        assert_eq!(cut.chars().count(), 40);
        assert!(cut.ends_with('…') && !cut.contains('\n'), "{cut}");
        assert_eq!(truncate(&"é".repeat(40), 40), "é".repeat(40), "counted in characters, not bytes");
    }
}
