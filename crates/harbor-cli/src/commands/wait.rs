//! Following a server-side run until it ends, with a progress bar on standard error.

use std::future::Future;
use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Failure;
use crate::client::Error;
use crate::output::{Format, Output};

/// How often a run is polled.
const POLL: Duration = Duration::from_millis(500);

/// What the bar shows of a run.
pub(crate) struct Progress {
    /// The run has ended.
    pub ended: bool,
    /// Steps in all, once known (a spinner until then).
    pub total: Option<u64>,
    /// Steps done.
    pub done: u64,
    /// A short status line.
    pub message: String,
}

/// Where the bar is drawn: standard error when it is a terminal and the output is for
/// people (a table, not `-q`); nowhere otherwise.
fn target(out: &Output) -> ProgressDrawTarget {
    if !out.quiet && out.format == Format::Table && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

fn spinner() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar() -> ProgressStyle {
    ProgressStyle::with_template("[{elapsed}] {wide_bar} {percent:>3}% {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Polls `fetch` (now, then every 500 ms) until `progress` says the run ended; drives the
/// bar meanwhile and returns the last answer.
pub(crate) async fn until_done<T, F, Fut>(
    out: &Output,
    mut fetch: F,
    progress: impl Fn(&T) -> Progress,
) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let pb = ProgressBar::with_draw_target(None, target(out));
    pb.set_style(spinner());
    pb.enable_steady_tick(Duration::from_millis(120));
    let mut counting = false;
    loop {
        let item = match fetch().await {
            Ok(item) => item,
            Err(e) => {
                pb.abandon();
                return Err(e.into());
            }
        };
        let p = progress(&item);
        if let Some(total) = p.total {
            if !counting {
                pb.set_style(bar());
                counting = true;
            }
            pb.set_length(total);
        }
        pb.set_position(p.done);
        pb.set_message(p.message);
        if p.ended {
            pb.finish_and_clear();
            return Ok(item);
        }
        tokio::time::sleep(POLL).await;
    }
}
