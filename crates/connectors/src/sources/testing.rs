//! What source tests share.

use serde_json::{Map, Value};
use vigil_core::alert::Tier;
use vigil_core::monitor::evaluate::Answer;

/// The one sample's tier, note and fields; a failed answer fails the test.
pub fn verdict(answer: Answer) -> (Tier, Option<String>, Map<String, Value>) {
    match answer {
        Answer::Samples(mut s) => {
            let s = s.remove(0);
            (s.tier.expect("a tier"), s.note, s.fields)
        }
        Answer::Failed(e) => panic!("failed: {e}"),
    }
}
