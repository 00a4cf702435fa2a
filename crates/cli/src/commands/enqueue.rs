//! `deleteq enqueue JSON... | --file F.jsonl | -`: validates every job first and enqueues nothing if any is
//! invalid (unless `--skip-invalid`), naming each bad line and field; prints one id per job.

use crate::args::EnqueueArgs;
use crate::exit::Failure;
use deleteq_core::{Config, Job};
use std::io::{BufRead, Write};

pub(crate) async fn run(config: Config, args: EnqueueArgs) -> Result<(), Failure> {
    let (lines, label) = read_input(&args)?;
    let mut jobs = Vec::with_capacity(lines.len());
    let mut errors = Vec::new();
    for (number, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        match Job::from_json(&line).and_then(|job| deleteq_core::validate::validate(&job, &config).map(|()| job)) {
            Ok(job) => jobs.push(job),
            Err(e) => errors.push(format!("{label} {number}: {e}")),
        }
    }
    for error in &errors {
        eprintln!("{error}");
    }
    if !errors.is_empty() && !args.skip_invalid {
        return Err(Failure::Invalid(format!(
            "{} invalid job(s); nothing was enqueued (use --skip-invalid to enqueue the valid ones)",
            errors.len()
        )));
    }
    if jobs.is_empty() {
        return Err(Failure::Invalid("no jobs given (JSON arguments, --file F, or - for stdin)".into()));
    }
    let ops = super::connect(&config).await?;
    let producer = ops.producer();
    let mut all_ids = Vec::with_capacity(jobs.len());
    let total = jobs.len();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for batch in jobs.chunks(args.batch.max(1)) {
        let ids = producer.enqueue_many(batch).await.map_err(|e| {
            Failure::Runtime(format!(
                "{e} ({} of {total} jobs were enqueued before this; their ids were printed)",
                all_ids.len()
            ))
        })?;
        if !args.json {
            for id in &ids {
                let _ = writeln!(out, "{id}");
            }
        }
        all_ids.extend(ids);
    }
    if args.json {
        let ids: Vec<&str> = all_ids.iter().map(|id| id.as_str()).collect();
        let _ = writeln!(out, "{}", serde_json::to_string(&ids).unwrap_or_default());
    }
    let _ = out.flush();
    Ok(())
}

/// Input lines with their 1-based numbers.
type Numbered = Vec<(usize, String)>;

/// The input lines with their numbers, and what to call a position in errors ("line" or "argument").
fn read_input(args: &EnqueueArgs) -> Result<(Numbered, &'static str), Failure> {
    let from_stdin = args.file.as_deref().is_some_and(|f| f.as_os_str() == "-") || args.jobs.iter().any(|j| j == "-");
    if from_stdin {
        let lines = std::io::stdin().lock().lines().collect::<Result<Vec<_>, _>>();
        let lines = lines.map_err(|e| Failure::Invalid(format!("stdin: {e}")))?;
        return Ok((number(lines), "line"));
    }
    if let Some(path) = &args.file {
        if !args.jobs.is_empty() {
            return Err(Failure::Invalid("give jobs as arguments or with --file, not both".into()));
        }
        let text = std::fs::read_to_string(path).map_err(|e| Failure::Invalid(format!("{}: {e}", path.display())))?;
        return Ok((number(text.lines().map(str::to_string).collect()), "line"));
    }
    Ok((number(args.jobs.clone()), "argument"))
}

fn number(lines: Vec<String>) -> Numbered {
    lines.into_iter().enumerate().map(|(i, l)| (i + 1, l)).collect()
}
