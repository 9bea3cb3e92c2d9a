//! Reads lines from stdin and processes them concurrently: a reader task
//! feeds a bounded [`Queue`](anyloop::queue::Queue), a pool of worker tasks
//! fans the lines out, and the main task prints the results in input order.
//! Input is read without blocking the other tasks (`anyloop::io::stdin`).
//!
//! For each input line `N` (1-based) it prints `N<TAB>WORDS<TAB>REVERSED`:
//! the line number, the number of words and the line reversed.
//!
//! ```text
//! seq 5 | cargo run --example lines
//! cargo build --release --target wasm32-wasip1 --example lines
//! seq 5 | wasmtime run target/wasm32-wasip1/release/examples/lines.wasm
//! ```

use std::collections::BTreeMap;

use anyloop::queue::Queue;
use futures_lite::{AsyncBufReadExt, StreamExt};

/// Worker tasks processing lines concurrently.
const WORKERS: usize = 8;

/// Stands in for real per-line work (a request, a parse, a lookup).
async fn process(line: &str) -> String {
    anyloop::yield_now().await;
    let words = line.split_whitespace().count();
    let reversed: String = line.chars().rev().collect();
    format!("{words}\t{reversed}")
}

#[anyloop::main]
async fn main() -> std::io::Result<()> {
    let input: Queue<(usize, String)> = Queue::new(64);
    let output: Queue<(usize, String)> = Queue::new(0);

    let reader = anyloop::spawn({
        let input = input.clone();
        async move {
            let mut lines = futures_lite::io::BufReader::new(anyloop::io::stdin()).lines();
            let mut n = 0;
            while let Some(line) = lines.next().await {
                n += 1;
                if input.put((n, line?)).await.is_err() {
                    break;
                }
            }
            // Workers drain what is queued, then see the shutdown and stop.
            input.shutdown(false);
            std::io::Result::Ok(())
        }
    });

    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (input, output) = (input.clone(), output.clone());
            anyloop::spawn(async move {
                while let Ok((n, line)) = input.get().await {
                    let result = process(&line).await;
                    if output.put((n, result)).await.is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    anyloop::spawn({
        let output = output.clone();
        async move {
            for w in workers {
                let _ = w.await;
            }
            output.shutdown(false);
        }
    })
    .detach();

    // Results arrive in any order; print them in input order.
    let mut stdout = anyloop::io::stdout();
    let mut pending = BTreeMap::new();
    let mut next = 1;
    while let Ok((n, result)) = output.get().await {
        pending.insert(n, result);
        while let Some(result) = pending.remove(&next) {
            stdout
                .write_all(format!("{next}\t{result}\n").as_bytes())
                .await?;
            next += 1;
        }
    }
    stdout.flush().await?;
    reader
        .await
        .map_err(|e| std::io::Error::other(format!("reader task: {e}")))?
}
