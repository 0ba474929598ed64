//! Acceptance: the whole suite passes against the runner.

mod support;

use std::time::Instant;

use longrun_conformance::report::terminal;
use support::{run_suite, start_runner, suite_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_runner_passes_every_check() {
    let runner = start_runner(|_| {}).await;
    let started = Instant::now();
    let report = run_suite(suite_config(&runner.base)).await;
    let text = terminal::render(&report, false);
    println!("{text}");
    eprintln!("the whole suite took {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(report.exit_code, 0, "{text}");
    for result in &report.results {
        assert_eq!(result.verdict.name(), "pass", "{}: {:?}", result.id, result.verdict);
    }
}
