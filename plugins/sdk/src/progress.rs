//! Progress by stage: turns "stage k, `done` of `total`" into one overall
//! percentage, weighted by the stages' weights, that never goes down.

/// The smallest rise of the overall percentage that is reported; smaller
/// steps are folded into the next report, so a loop may call
/// [`crate::Run::advance`] for every item it handles.
const REPORT_STEP_PERCENT: f64 = 0.1;

/// Where a run stands.
#[derive(Debug)]
pub(crate) struct StageProgress {
    /// The stages, with weights normalised to sum to 100.
    stages: Vec<(String, f64)>,
    /// The index of the current stage.
    current: Option<usize>,
    /// The overall percentage last reported.
    reported: f64,
}

/// What to tell the runner, if anything.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step<'a> {
    pub(crate) percent: f64,
    pub(crate) stage: &'a str,
}

impl StageProgress {
    /// Progress over `stages` (name, weight).
    pub(crate) fn new(stages: &[(String, u32)]) -> StageProgress {
        let total: u64 = stages.iter().map(|(_, w)| u64::from(*w)).sum();
        let stages = stages
            .iter()
            .map(|(name, weight)| {
                let share = if total == 0 {
                    100.0 / stages.len() as f64
                } else {
                    f64::from(*weight) * 100.0 / total as f64
                };
                (name.clone(), share)
            })
            .collect();
        StageProgress {
            stages,
            current: None,
            reported: 0.0,
        }
    }

    /// Enters the stage `name`: the report to send, or an error naming the
    /// declared stages.
    pub(crate) fn enter(&mut self, name: &str) -> Result<Step<'_>, String> {
        let Some(index) = self.stages.iter().position(|(stage, _)| stage == name) else {
            let declared: Vec<&str> = self.stages.iter().map(|(s, _)| s.as_str()).collect();
            return Err(format!(
                "the plugin entered the stage `{name}`, which its description does not declare \
                 (declared: {declared:?})"
            ));
        };
        self.current = Some(index);
        let percent = self.start_of(index).max(self.reported);
        self.reported = percent;
        Ok(Step {
            percent,
            stage: &self.stages[index].0,
        })
    }

    /// `done` of `total` of the current stage: the report to send, if the
    /// overall percentage rose enough to be worth one.
    pub(crate) fn advance(&mut self, done: u64, total: u64) -> Option<Step<'_>> {
        let index = self.current?;
        let fraction = if total == 0 {
            1.0
        } else {
            (done as f64 / total as f64).clamp(0.0, 1.0)
        };
        let percent = (self.start_of(index) + self.stages[index].1 * fraction).min(100.0);
        let finished = fraction >= 1.0 && percent > self.reported;
        if percent - self.reported < REPORT_STEP_PERCENT && !finished {
            return None;
        }
        self.reported = percent;
        Some(Step {
            percent,
            stage: &self.stages[index].0,
        })
    }

    /// The current stage's name.
    pub(crate) fn current(&self) -> Option<&str> {
        self.current.map(|index| self.stages[index].0.as_str())
    }

    fn start_of(&self, index: usize) -> f64 {
        self.stages[..index].iter().map(|(_, share)| share).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages(weights: &[(&str, u32)]) -> StageProgress {
        let owned: Vec<(String, u32)> = weights.iter().map(|(n, w)| (n.to_string(), *w)).collect();
        StageProgress::new(&owned)
    }

    #[test]
    fn stages_share_the_percentage_by_weight() {
        let mut progress = stages(&[("read", 45), ("diff", 10), ("render", 45)]);
        assert_eq!(progress.enter("read").unwrap().percent, 0.0);
        assert_eq!(progress.advance(1, 2).unwrap().percent, 22.5);
        assert_eq!(progress.enter("diff").unwrap().percent, 45.0);
        let step = progress.enter("render").unwrap();
        assert_eq!((step.percent, step.stage), (55.0, "render"));
        assert_eq!(progress.advance(2, 2).unwrap().percent, 100.0);
    }

    #[test]
    fn small_steps_are_folded_and_the_percentage_never_goes_down() {
        let mut progress = stages(&[("a", 1), ("b", 1)]);
        progress.enter("b").unwrap();
        assert_eq!(progress.advance(1, 1_000_000), None);
        assert!(progress.advance(10_000, 1_000_000).is_some());
        // Going back to an earlier stage does not lower the percentage.
        assert_eq!(progress.enter("a").unwrap().percent, 50.5);
        assert_eq!(progress.advance(1, 2), None);
    }

    #[test]
    fn zero_weights_count_equally_and_unknown_stages_are_refused() {
        let mut progress = stages(&[("a", 0), ("b", 0), ("c", 0), ("d", 0)]);
        assert_eq!(progress.enter("c").unwrap().percent, 50.0);
        let error = progress.enter("e").unwrap_err();
        assert!(error.contains("`e`") && error.contains("\"d\""), "{error}");
        assert_eq!(progress.current(), Some("c"));
    }

    #[test]
    fn advance_before_any_stage_reports_nothing() {
        let mut progress = stages(&[("a", 1)]);
        assert_eq!(progress.advance(1, 1), None);
    }
}
