//! What `longrun plugin run` shows on stderr while the plugin runs: a
//! progress bar with the stage and percentage (plain lines, one per stage
//! and per 10 %, when stderr is not a terminal), the plugin's log lines and,
//! at the end, its captured stdout and stderr. Also the run's cancel flag,
//! which Ctrl-C sets.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::plugin::{LogLevel, OutputStream, ProgressUpdate, RunControl};

/// The bar's length: tenths of a percent.
const BAR_LENGTH: u64 = 1000;

/// How the bar looks.
const BAR_TEMPLATE: &str = "{spinner} {elapsed_precise} [{bar:30}] {percent:>3}% {msg}";

/// The [`RunControl`] of a local run: reports to the terminal.
pub struct RunDisplay {
    bar: Option<ProgressBar>,
    plain: Mutex<PlainProgress>,
    cancel: Arc<AtomicBool>,
}

/// What the plain lines last said.
#[derive(Debug, Default)]
struct PlainProgress {
    stage: Option<String>,
    message: Option<String>,
    /// The last tenth of the way reported (0 to 10).
    tenth: Option<u64>,
}

impl PlainProgress {
    /// The line to print for `update`, if it says something new: a new
    /// stage or message, or another 10 %.
    fn line(&mut self, update: &ProgressUpdate) -> Option<String> {
        let mut news = false;
        if update.stage.is_some() && update.stage != self.stage {
            self.stage = update.stage.clone();
            news = true;
        }
        if update.message.is_some() && update.message != self.message {
            self.message = update.message.clone();
            news = true;
        }
        if let Some(percent) = update.percent {
            let tenth = (percent / 10.0).floor() as u64;
            if self.tenth.is_none_or(|last| tenth > last) {
                self.tenth = Some(tenth);
                news = true;
            }
        }
        if !news {
            return None;
        }
        let percent = update
            .percent
            .map(|p| format!("{p:.0}%"))
            .unwrap_or_else(|| "…".to_owned());
        Some(format!(
            "progress: {percent}{}",
            describe(&self.stage, &self.message)
        ))
    }
}

/// ` (stage: message)`, or what there is of it.
fn describe(stage: &Option<String>, message: &Option<String>) -> String {
    match (stage, message) {
        (Some(stage), Some(message)) => format!(" ({stage}: {message})"),
        (Some(stage), None) => format!(" ({stage})"),
        (None, Some(message)) => format!(" ({message})"),
        (None, None) => String::new(),
    }
}

impl RunDisplay {
    /// A display with a bar if stderr is a terminal; `cancel` is the run's
    /// cancel flag.
    pub fn new(cancel: Arc<AtomicBool>) -> RunDisplay {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(BAR_LENGTH), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(BAR_TEMPLATE)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        RunDisplay {
            bar,
            plain: Mutex::new(PlainProgress::default()),
            cancel,
        }
    }

    /// Removes the bar (call when the run is over).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Prints a line on stderr, above the bar if there is one.
    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }
}

impl RunControl for RunDisplay {
    fn progress(&self, update: ProgressUpdate) {
        match &self.bar {
            Some(bar) => {
                if let Some(percent) = update.percent {
                    bar.set_position((percent * 10.0).round() as u64);
                }
                let mut plain = self.plain.lock().unwrap_or_else(|e| e.into_inner());
                if update.stage.is_some() {
                    plain.stage = update.stage;
                }
                if update.message.is_some() {
                    plain.message = update.message;
                }
                bar.set_message(describe(&plain.stage, &plain.message).trim().to_owned());
            }
            None => {
                let line = self
                    .plain
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .line(&update);
                if let Some(line) = line {
                    eprintln!("{line}");
                }
            }
        }
    }

    fn log(&self, level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        self.line(&format!("log {level}: {message}"));
    }

    fn output(&self, stream: OutputStream, text: &str, truncated: bool) {
        let stream = match stream {
            OutputStream::Stdout => "stdout",
            OutputStream::Stderr => "stderr",
        };
        let note = if truncated { " (truncated)" } else { "" };
        let text = text.strip_suffix('\n').unwrap_or(text);
        self.line(&format!(
            "--- the plugin's {stream}{note} ---\n{text}\n--- end of {stream} ---"
        ));
    }

    fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(percent: Option<f64>, stage: Option<&str>) -> ProgressUpdate {
        ProgressUpdate {
            percent,
            stage: stage.map(str::to_owned),
            message: None,
        }
    }

    #[test]
    fn plain_lines_come_per_stage_and_per_tenth() {
        let mut plain = PlainProgress::default();
        let lines: Vec<String> = [
            update(Some(0.0), Some("count")),
            update(Some(4.0), Some("count")),
            update(Some(12.4), Some("count")),
            update(Some(19.0), Some("count")),
            update(Some(90.0), Some("report")),
            update(Some(100.0), Some("report")),
        ]
        .iter()
        .filter_map(|u| plain.line(u))
        .collect();
        assert_eq!(
            lines,
            [
                "progress: 0% (count)",
                "progress: 12% (count)",
                "progress: 90% (report)",
                "progress: 100% (report)"
            ]
        );
        let message = ProgressUpdate {
            percent: None,
            stage: None,
            message: Some("halfway".into()),
        };
        assert_eq!(
            plain.line(&message).as_deref(),
            Some("progress: … (report: halfway)")
        );
    }
}
