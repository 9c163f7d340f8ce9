//! Saved plan decoding (`apply FILE`, `show FILE`): any bytes, then what `show` does with a plan
//! that decodes (the human and JSON renderings).
#![no_main]

use libfuzzer_sys::fuzz_target;
use trustform_plan::{render_human, render_json, SavedPlan, Style};
use trustform_state::encryption::Payload;
use trustform_state::Encryption;

fuzz_target!(|data: &[u8]| {
    let _ = SavedPlan::decode(data, &Encryption::plaintext(Payload::Plan));
    if let Ok(saved) = SavedPlan::from_bytes(data) {
        let _ = render_human(&saved.plan, Style::Plain);
        let _ = render_json(&saved.plan);
        let _ = SavedPlan::from_bytes(&saved.to_bytes());
    }
});
