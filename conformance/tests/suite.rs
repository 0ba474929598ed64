//! Acceptance: the whole suite passes against the runner.
//!
//! One runner cannot pass every check: the callback checks need a server that
//! may call the loopback receiver, the URL-guard checks one that refuses
//! private networks. So the suite runs against both, side by side; every check
//! must pass against one of them, and nothing may fail, warn or err against
//! either. Set `CONFORMANCE_ONLY` to a pattern to run a part while developing.

mod support;

use std::time::Instant;

use longrun_conformance::report::{RunReport, terminal};
use support::{run_suite, start_runner, suite_config};

fn config_for(base: &str) -> longrun_conformance::config::SuiteConfig {
    let mut config = suite_config(base);
    if let Ok(only) = std::env::var("CONFORMANCE_ONLY") {
        config.only = only.split(',').map(str::to_owned).collect();
    }
    config
}

fn assert_clean(name: &str, report: &RunReport) {
    let text = terminal::render(report, false);
    println!("--- {name}\n{text}");
    for result in &report.results {
        assert!(
            matches!(result.verdict.name(), "pass" | "skip"),
            "{name}: {} gave {:?}\n{text}",
            result.id,
            result.verdict
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_runner_passes_every_check() {
    let open = start_runner(|config| config.allow_private_networks = true).await;
    let guarded = start_runner(|config| config.allow_private_networks = false).await;
    let started = Instant::now();
    let (open_report, guarded_report) = tokio::join!(
        run_suite(config_for(&open.base)),
        run_suite(config_for(&guarded.base))
    );
    eprintln!(
        "the suite took {:.1} s (two servers side by side)",
        started.elapsed().as_secs_f64()
    );
    assert_clean("private networks allowed", &open_report);
    assert_clean("private networks refused", &guarded_report);
    for result in &open_report.results {
        let other = guarded_report.result(result.id).map(|r| r.verdict.name());
        assert!(
            result.verdict.name() == "pass" || other == Some("pass"),
            "{} passed against neither server: {:?} and {:?}",
            result.id,
            result.verdict,
            other
        );
    }
}
