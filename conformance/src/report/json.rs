//! The JSON report: the whole [`RunReport`], with each failing
//! requirement's text and a curl command added to its result.

use serde_json::{Value, json};

use super::RunReport;

/// Render the report as pretty-printed JSON.
pub fn render(report: &RunReport) -> String {
    let mut value = serde_json::to_value(report).expect("a report serializes");
    if let Some(results) = value.get_mut("results").and_then(Value::as_array_mut) {
        for (result, check) in results.iter_mut().zip(&report.results) {
            if let Some(id) = check.verdict.requirement()
                && let Some(req) = crate::spec::spec().get(id)
            {
                result["requirementText"] = json!(req.text);
                result["requirementSection"] = json!(req.section);
            }
            if !matches!(check.verdict, crate::verdict::Verdict::Pass)
                && let Some(exchange) = check.last_exchange()
            {
                result["curl"] = json!(exchange.curl());
            }
        }
    }
    let mut text = serde_json::to_string_pretty(&value).expect("JSON renders");
    text.push('\n');
    text
}
