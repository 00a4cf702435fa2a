//! The raw Redis limit on this machine, with the client library deleteq uses (redis-rs), for `make bench`:
//! pipelined LPUSH, RPOP in batches, and one LMOVE per job from 64 concurrent tasks. Prints one JSON line.
//!
//! Usage: raw_redis REDIS_URL [N] (the URL is required).

use std::time::Instant;

#[tokio::main]
async fn main() -> redis::RedisResult<()> {
    let mut args = std::env::args().skip(1);
    // No default: it deletes and fills keys, so it runs only against the Redis it is pointed at (`make bench`
    // starts a private one), never the machine's own.
    let Some(url) = args.next() else {
        eprintln!("usage: raw_redis REDIS_URL [N]  (a private redis-server; nothing is assumed)");
        std::process::exit(2);
    };
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let _: () = redis::cmd("DEL").arg("raw:q").arg("raw:p").query_async(&mut conn).await?;

    let started = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut pipe = redis::pipe();
        for i in chunk {
            pipe.cmd("LPUSH").arg("raw:q").arg(format!("job-{i}")).ignore();
        }
        let () = pipe.query_async(&mut conn).await?;
    }
    let lpush = n as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    loop {
        let got: Option<Vec<String>> = redis::cmd("RPOP").arg("raw:q").arg(1000).query_async(&mut conn).await?;
        if got.is_none_or(|g| g.is_empty()) {
            break;
        }
    }
    let rpop = n as f64 / started.elapsed().as_secs_f64();

    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut pipe = redis::pipe();
        for i in chunk {
            pipe.cmd("LPUSH").arg("raw:q").arg(format!("job-{i}")).ignore();
        }
        let () = pipe.query_async(&mut conn).await?;
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let mut c = conn.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let moved: Option<String> =
                    redis::cmd("LMOVE").arg("raw:q").arg("raw:p").arg("RIGHT").arg("LEFT").query_async(&mut c).await?;
                if moved.is_none() {
                    return Ok::<_, redis::RedisError>(());
                }
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| redis::RedisError::from(std::io::Error::other(e)))??;
    }
    let lmove = n as f64 / started.elapsed().as_secs_f64();
    let _: () = redis::cmd("DEL").arg("raw:q").arg("raw:p").query_async(&mut conn).await?;
    println!(
        "{{\"raw_redis\": {{\"n\": {n}, \"lpush_pipelined_per_s\": {lpush:.0}, \"rpop_batch_per_s\": {rpop:.0}, \"lmove_per_job_64_tasks_per_s\": {lmove:.0}}}}}"
    );
    Ok(())
}
